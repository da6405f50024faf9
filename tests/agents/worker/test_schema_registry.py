"""Schema ids fetched from a Confluent schema registry: once per id, a 404 is unknown, and an
outage makes alerts wait (readiness says why) until the registry is back, with nothing lost."""
from __future__ import annotations

import asyncio
import http.server
import json
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from pathlib import Path

import pytest

from agents.cli.replay import produce
from agents.dev.broker import free_port
from agents.dev.worker_process import WorkerProcess
from agents.kafka.admin import ensure_topics, group_progress, read_records
from agents.kafka.topology import core_topics
from agents.worker.schema_registry import FIRST_WAIT, MAX_WAIT, SchemaFetcher
from pipeline.decode import dead_letter
from pipeline.decode.schema_lookup import SchemaResolver
from pipeline.decode.schemas import parsed_schema
from pipeline.decode.wire import DecodeError, decode_message
from pipeline.settings import Settings
from pipeline.synthetic.alerts import synthetic_messages
from schemas import RUBIN
from tests.agents.worker.test_streams import add_filter
from tests.conftest import connection
from tests.kafka_clients import read_topic

NEW_ID, MISSING_ID = 9911, 9912  # the v11 schema under an id no bundle has; an id the registry lacks too


class RegistryHandler(http.server.BaseHTTPRequestHandler):
    """The Confluent REST shape: GET /schemas/ids/{id} -> {"schema": "..."}, 404 otherwise."""

    schemas: dict[int, str] = {NEW_ID: json.dumps(parsed_schema(1100))}
    requests: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.requests.append(self.path.split("?")[0])
        schema_id = int(self.path.split("?")[0].rsplit("/", 1)[-1])
        if schema_id not in self.schemas:
            self.send_error(404)
            return
        body = json.dumps({"schema": self.schemas[schema_id]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def registry_on(port: int) -> Iterator[http.server.ThreadingHTTPServer]:
    RegistryHandler.requests = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), RegistryHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def with_id(message: bytes, schema_id: int) -> bytes:
    return b"\x00" + schema_id.to_bytes(4, "big") + message[5:]


async def test_each_id_is_asked_once_and_a_404_is_unknown() -> None:
    port = free_port()
    with registry_on(port):
        resolver = SchemaResolver(RUBIN, f"http://127.0.0.1:{port}")
        fetcher = SchemaFetcher(resolver)
        message = with_id(next(synthetic_messages(1, seed=1)), NEW_ID)
        await fetcher.fetch(NEW_ID)
        await fetcher.fetch(MISSING_ID)
        for _ in range(3):
            assert decode_message(message, resolver).schema_id == NEW_ID
        with pytest.raises(DecodeError) as err:
            decode_message(with_id(message, MISSING_ID), resolver)
        assert err.value.reason == "unknown-schema"
        assert RegistryHandler.requests == [f"/schemas/ids/{NEW_ID}", f"/schemas/ids/{MISSING_ID}"]
        assert fetcher.waiting_for is None


async def test_an_outage_is_waited_out_with_doubling_back_off() -> None:
    port = free_port()
    waits: list[float] = []
    seen: list[str | None] = []
    fetcher = SchemaFetcher(SchemaResolver(RUBIN, f"http://127.0.0.1:{port}"))

    with ExitStack() as registry:
        async def sleep(seconds: float) -> None:  # the registry comes back after the sixth failed attempt
            waits.append(seconds)
            seen.append(fetcher.waiting_for)
            if len(waits) == 6:
                registry.enter_context(registry_on(port))

        fetcher.sleep = sleep
        await asyncio.wait_for(fetcher.fetch(NEW_ID), 30)
    assert waits == [FIRST_WAIT, 2 * FIRST_WAIT, 4 * FIRST_WAIT, 8 * FIRST_WAIT, MAX_WAIT, MAX_WAIT]
    assert all(s and s.startswith(f"schema registry at http://127.0.0.1:{port}: ") for s in seen), seen
    assert fetcher.waiting_for is None
    assert fetcher.resolver(NEW_ID).schema["name"] == "lsst.v11_0.alert"


def committed(settings: Settings) -> dict[int, int]:
    progress = asyncio.run(group_progress(connection(settings), settings.app_id, settings.alert_topic))
    return {p: c for p, (c, _) in progress.items()}


@pytest.mark.integration
def test_worker_waits_for_a_registry_outage_and_loses_nothing(settings: Settings, tmp_path: Path) -> None:
    port = free_port()
    settings = replace(settings, schema_registry_url=f"http://127.0.0.1:{port}")
    asyncio.run(ensure_topics(connection(settings), core_topics(settings)))
    everything = add_filter(settings, user="5", name="everything", mode="plain",
                            sql="SELECT objects.diaObjectId FROM objects WHERE objects.diaObjectId > 0")
    bundled = list(synthetic_messages(20, seed=11))
    new = [with_id(m, NEW_ID) for m in synthetic_messages(10, seed=12)]
    missing = with_id(next(synthetic_messages(1, seed=13)), MISSING_ID)
    before = asyncio.run(produce(connection(settings), settings.alert_topic, bundled, progress=False))
    ends = asyncio.run(produce(connection(settings), settings.alert_topic, new + [missing], progress=False))

    worker = WorkerProcess.with_free_port(settings, tmp_path / "worker.log").start()
    try:
        status, body = wait_for_ready_body(worker, "waiting_for")
        assert status == 503 and not body["ready"]
        assert body["waiting_for"].startswith(f"schema registry at http://127.0.0.1:{port}: "), body
        assert worker.alive()
        assert all(committed(settings).get(p, 0) <= before.get(p, 0) for p in ends), "no offset passes a waiting alert"
        assert asyncio.run(read_records(connection(settings), settings.dead_letter_topic, expected=1, timeout=2)) == []

        with registry_on(port):
            worker.wait_caught_up(settings.alert_topic, ends, timeout=120)
            stats = worker.stats()
            assert worker.get("/ready")[0] == 200
    finally:
        assert worker.stop() == 0, (tmp_path / "worker.log").read_text()[-3000:]

    assert stats["alerts_processed"] == 30 and stats["dead_letter_reasons"] == {"unknown-schema": 1}
    [dead] = asyncio.run(read_records(connection(settings), settings.dead_letter_topic, expected=2, timeout=5))
    assert dead.value == missing and dict(dead.headers)[dead_letter.REASON] == b"unknown-schema"
    records = read_topic(settings.bootstrap, everything.topic, "reader", expected=30)
    assert len(records) == 30, "every alert, the waiting ones included, produced its record once"


def wait_for_ready_body(worker: WorkerProcess, key: str, timeout: float = 60.0) -> tuple[int, dict]:
    """Poll /ready until its answer has `key` (the worker's web server comes up first)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            status, body = worker.get("/ready")
            if key in body:
                return status, body
        except OSError:
            pass
        assert worker.alive(), (worker.log_path.read_text())[-3000:]
        time.sleep(0.2)
    raise TimeoutError(f"/ready never said {key!r}; log: {worker.log_path}")


@pytest.mark.integration
def test_a_worker_stopped_while_waiting_exits_cleanly_and_commits_none_of_the_waiting(settings: Settings, tmp_path: Path) -> None:
    settings = replace(settings, schema_registry_url=f"http://127.0.0.1:{free_port()}")
    asyncio.run(ensure_topics(connection(settings), core_topics(settings)))
    ends = asyncio.run(produce(connection(settings), settings.alert_topic,
                               [with_id(m, NEW_ID) for m in synthetic_messages(6, seed=14)], progress=False))
    worker = WorkerProcess.with_free_port(settings, tmp_path / "worker.log").start()
    try:
        assert wait_for_ready_body(worker, "waiting_for")[0] == 503
    finally:
        status = worker.stop(timeout=20)
    assert status == 0, (tmp_path / "worker.log").read_text()[-3000:]
    assert all(committed(settings).get(p, 0) == 0 for p in ends), "the waiting alerts are left for the next worker"
    assert asyncio.run(read_records(connection(settings), settings.dead_letter_topic, expected=1, timeout=2)) == []
