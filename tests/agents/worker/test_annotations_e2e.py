"""Annotations end to end: an annotator registered, annotations over HTTP and Kafka, a filter on
JSON_EXTRACT run when an annotation arrives and on the object's next alert, SIGKILL losing nothing,
and every refusal one clear error with nothing stored. Over HTTP the submitter is the API token's
user (users 7 and 8 written to the test's users topic as `run.py user` writes them)."""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson
import pytest

from agents.cli.replay import produce
from agents.dev.worker_process import WorkerProcess, settings_env
from agents.kafka.admin import ensure_topics
from agents.kafka.topology import core_topics
from pipeline.decode.avro_codec import bundled_codec
from pipeline.features.ingest import ingest
from pipeline.settings import REPO_ROOT, Settings
from pipeline.streams import payloads
from pipeline.synthetic.alerts import synthetic_messages
from tests.agents.worker.test_digests_e2e import start_worker, wait_for
from tests.agents.worker.test_filter_api import add_user, with_users_topic
from tests.agents.worker.test_streams import add_filter
from tests.conftest import connection
from tests.kafka_clients import read_topic

pytestmark = pytest.mark.integration

SQL = ('SELECT objects.diaObjectId, JSON_EXTRACT(needle.classdict, "$.SN") AS snprob FROM objects, annotations AS needle '
       'WHERE objects.diaObjectId=needle.diaObjectId AND needle.topic="needle" AND JSON_EXTRACT(needle.classdict, "$.SN") > 0.8')


TOKENS: dict[str, str] = {}  # user id -> API token, for the current test's users topic


@pytest.fixture
def ann_settings(settings: Settings) -> Settings:
    """Topics of the test's own, and users 7 and 8 with tokens (known to a worker started afterwards)."""
    tag = uuid.uuid4().hex[:8]
    settings = with_users_topic(replace(settings, annotator_topic=f"annotators-{tag}", annotation_topic=f"annotations-{tag}",
                                        annotation_input_topic=f"annotations-in-{tag}"))
    asyncio.run(ensure_topics(connection(settings), core_topics(settings)))
    TOKENS.update({user: add_user(settings, int(user)) for user in ("7", "8")})
    return settings


def cli(settings: Settings, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(REPO_ROOT / "run.py"), *argv, "--bootstrap", settings.bootstrap],
                          capture_output=True, text=True, timeout=120, cwd=REPO_ROOT,
                          env={**os.environ, **settings_env(settings)})


def register(settings: Settings, user: str, topic: str) -> None:
    done = cli(settings, "annotator", "add", "--user", user, "--topic", topic)
    assert done.returncode == 0 and done.stdout.strip() == f"annotator {topic} registered for user {user} (private)", done


def post(worker: WorkerProcess, body: bytes | dict[str, Any], user: str | None) -> tuple[int, dict[str, Any]]:
    """POST /annotations with `user`'s token (None: without a token)."""
    data = body if isinstance(body, bytes) else orjson.dumps(body)
    authorization = {"Authorization": f"Token {TOKENS[user]}"} if user is not None else {}
    request = urllib.request.Request(f"http://{worker.settings.web_host}:{worker.settings.web_port}/annotations", data=data,
                                     method="POST", headers={"Content-Type": "application/json", **authorization})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def annotation(object_id: int, sn: float, topic: str = "needle") -> dict[str, Any]:
    return {"topic": topic, "objectId": object_id, "classification": "SN" if sn > 0.5 else "other", "version": "1.0",
            "explanation": "test classifier", "classdict": {"SN": sn, "AGN": round(1 - sn, 2)}, "url": ""}


def alerts_of_distinct_objects(n: int) -> list[tuple[bytes, int, int]]:
    """(message, diaObjectId, diaSourceId) of `n` alerts of different objects."""
    chosen: dict[int, tuple[bytes, int, int]] = {}
    for message in synthetic_messages(50, 90):
        item = ingest(message, bundled_codec)
        chosen.setdefault(item.row["diaObjectId"], (message, item.row["diaObjectId"], item.alert.diaSourceId))
    assert len(chosen) >= n
    return list(chosen.values())[:n]


def replay(settings: Settings, worker: WorkerProcess, *messages: bytes) -> None:
    worker.wait_caught_up(settings.alert_topic, asyncio.run(produce(connection(settings), settings.alert_topic, list(messages), progress=False)))


def values(records: list[Any]) -> list[tuple[int, str, int]]:
    """(diaObjectId, snprob, diaSourceId header) of each record, sorted."""
    return sorted((orjson.loads(r.value())["diaObjectId"], orjson.loads(r.value())["snprob"],
                   int(dict(r.headers())[payloads.DIA_SOURCE_ID])) for r in records)


def test_annotations_run_filters_on_arrival_and_next_alert_and_survive_sigkill(ann_settings: Settings, tmp_path: Path) -> None:
    settings = ann_settings
    register(settings, "7", "needle")
    register(settings, "8", "other")
    f = add_filter(settings, user="1", name="needle", mode="plain", sql=SQL)
    (a, a_id, a_src), (b, b_id, b_src), (c, c_id, c_src) = alerts_of_distinct_objects(3)
    worker = start_worker(settings, tmp_path / "worker.log")
    try:
        replay(settings, worker, a, b)  # no annotation yet: nothing matches
        status, body = post(worker, annotation(a_id, 0.93), user="7")
        assert status == 201 and body["stored"][0]["diaObjectId"] == a_id, body
        assert post(worker, annotation(a_id, 0.99, "other"), user="8")[0] == 201  # another topic: the filter ignores it
        intake = [{**annotation(b_id, 0.5), "user": "7"}, {**annotation(b_id, 0.85), "user": "7"}]
        asyncio.run(produce(connection(settings), settings.annotation_input_topic, [orjson.dumps(m) for m in intake], progress=False))
        wait_for(lambda: worker.get("/annotations")[1]["runs"] == 4, "four annotation-triggered runs")
        assert worker.get("/annotations")[1]["intake_accepted"] == 2
        on_arrival = read_topic(settings.bootstrap, f.topic, "reader", expected=2)
        assert values(on_arrival) == sorted([(a_id, "0.93", a_src), (b_id, "0.85", b_src)])
        assert all(dict(r.headers())[payloads.FILTER_ID] == f.id.encode() for r in on_arrival)

        replay(settings, worker, a)  # A's next alert, joined with its latest annotation
        assert values(read_topic(settings.bootstrap, f.topic, "reader", expected=1)) == [(a_id, "0.93", a_src)]

        status, _ = post(worker, annotation(c_id, 0.9), user="7")  # C has had no alert here: nothing runs yet
        assert status == 201
        worker.kill()
        worker = start_worker(settings, tmp_path / "restarted.log")
        replay(settings, worker, c)
        assert values(read_topic(settings.bootstrap, f.topic, "reader", expected=1)) == [(c_id, "0.9", c_src)]
    finally:
        worker.stop()


def test_refusals_are_one_clear_error_each_and_store_nothing(ann_settings: Settings, tmp_path: Path) -> None:
    settings = ann_settings
    register(settings, "7", "needle")
    register(settings, "8", "other")
    refused = cli(settings, "annotator", "add", "--user", "9", "--topic", "needle")
    assert refused.returncode == 2 and refused.stderr.strip() == "refused: annotator topic 'needle' already belongs to user 7"
    worker = start_worker(settings, tmp_path / "worker.log")
    try:
        cases = [  # (body, whose token, status, the error's start): a valid token under another user's topic is 403
            (annotation(1, 0.9, "nosuch"), "7", 404, "annotator topic 'nosuch' does not exist"),
            (annotation(1, 0.9, "other"), "7", 403, "user 7 may not annotate under topic 'other': it belongs to another user"),
            (annotation(1, 0.9), None, 401, "a valid API token is needed"),
            ({**annotation(1, 0.9), "user": "7"}, "7", 400, "user: the submitter is the API token's user; drop the field"),
            ({"annotations": [annotation(1, 0.9)], "user": "7"}, "8", 400, "user: the submitter is the API token's user"),
            ({**annotation(1, 0.9), "classdict": {"x": "y" * 5000}}, "7", 400, "classdict is 5009 bytes as JSON text, at most 4096 allowed"),
            ({**annotation(1, 0.9), "classdict": '{"SN": 0.9'}, "7", 400, "classdict is not JSON: "),
            (b'{"topic": "needle", "objectId": 1,', "7", 400, "the body is not JSON: "),
            ({"annotations": [annotation(1, 0.9), annotation(2, 0.9, "other")]}, "7", 403, "annotation 2: user 7 may not annotate"),
        ]
        for body, user, status, message in cases:
            got, answer = post(worker, body, user)
            assert got == status and "\n" not in answer["error"], (body, got, answer)
            assert answer["error"].startswith(message), answer
        bad_intake = [orjson.dumps({**annotation(1, 0.9), "user": "8"}), b"not json", orjson.dumps(annotation(1, 0.9))]
        asyncio.run(produce(connection(settings), settings.annotation_input_topic, bad_intake, progress=False))
        wait_for(lambda: worker.get("/annotations")[1]["intake_refused"] == 3, "three refused intake messages")
        cli_refused = cli(settings, "annotate", "--user", "8", "--topic", "needle", "--object", "1", "--classification", "SN")
        assert cli_refused.returncode == 2 and cli_refused.stderr.strip() == (
            "refused: user 8 may not annotate under topic 'needle': it belongs to another user")
        done = cli(settings, "annotate", "--user", "7", "--topic", "needle", "--object", "5", "--classification", "SN",
                   "--classdict", '{"SN": 0.7}')
        assert done.returncode == 0 and done.stdout.startswith("annotated object 5 under needle at "), done
    finally:
        worker.stop()
    stored = read_topic(settings.bootstrap, settings.annotation_topic, "check", expected=1)
    assert [r.key() for r in stored] == [b"5/needle"], "only the valid annotation was stored"
