"""Log formats: JSON lines that parse and carry filter and alert ids and tracebacks; readable text."""
from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from agents.cli.replay import produce
from pipeline.observe.logs import JsonFormatter, TextFormatter, configure_logging, logging_config
from pipeline.settings import Settings
from pipeline.synthetic.alerts import synthetic_messages
from tests.conftest import connection


def logger_with(formatter: logging.Formatter) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    log = logging.getLogger(f"alertflow.test.{id(stream)}")
    log.handlers[:] = [handler]
    log.propagate = False
    log.setLevel(logging.DEBUG)
    return log, stream


def boom() -> None:
    raise ValueError("bad flux")


def test_json_lines_parse_and_carry_extra_fields_and_exceptions() -> None:
    log, stream = logger_with(JsonFormatter())
    log.info("matched %d alerts", 3, extra={"filter_id": "f00d", "diaObjectId": 170028234857037825, "diaSourceId": 42})
    try:
        boom()
    except ValueError:
        log.exception("features failed\non two lines", extra={"diaObjectId": 7})
    log.warning("plain message")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3, "one JSON object per line, newlines and tracebacks escaped"
    first, second, third = (json.loads(line) for line in lines)

    assert first["message"] == "matched 3 alerts" and first["level"] == "INFO" and first["logger"] == log.name
    assert first["filter_id"] == "f00d" and first["diaObjectId"] == 170028234857037825 and first["diaSourceId"] == 42
    stamp = dt.datetime.fromisoformat(first["time"].replace("Z", "+00:00"))
    assert first["time"].endswith("Z") and abs((dt.datetime.now(dt.timezone.utc) - stamp).total_seconds()) < 60
    assert isinstance(first["process"], int)

    assert second["level"] == "ERROR" and second["message"] == "features failed\non two lines" and second["diaObjectId"] == 7
    assert second["exception"].startswith("Traceback") and "ValueError: bad flux" in second["exception"]
    assert "filter_id" not in second

    assert set(third) == {"time", "level", "logger", "message", "process"}, "no extra keys when none were passed"


def test_json_keeps_unserialisable_extras_as_text() -> None:
    log, stream = logger_with(JsonFormatter())
    log.info("odd", extra={"where": Path("/tmp/x"), "data": {"n": 1}})
    record = json.loads(stream.getvalue())
    assert record["where"] == "/tmp/x" and record["n"] == 1  # mode's `data=` dict is spread out


def test_text_is_one_readable_line_with_ids_then_the_traceback() -> None:
    log, stream = logger_with(TextFormatter())
    log.warning("digest of filter %s not sent", "f00d", extra={"filter_id": "f00d", "diaObjectId": 99})
    try:
        boom()
    except ValueError:
        log.error("could not decode", exc_info=True)
    first, *rest = stream.getvalue().splitlines()
    stamp, pid, level, logger, *message = first.split(" ")
    assert dt.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ")
    assert pid.startswith("[") and level == "WARNING" and logger == log.name + ":"
    assert " ".join(message) == "digest of filter f00d not sent [filter_id=f00d diaObjectId=99]"
    assert rest[0].endswith("ERROR " + log.name + ": could not decode")
    assert rest[1] == "Traceback (most recent call last):" and rest[-1] == "ValueError: bad flux"
    assert not stream.getvalue().lstrip().startswith("{")


@pytest.fixture
def restore_root_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


@pytest.mark.usefixtures("restore_root_logging")
@pytest.mark.parametrize("fmt", ["json", "text"])
def test_configure_logging_sets_the_root_logger(fmt: str, capfd: pytest.CaptureFixture[str]) -> None:
    configure_logging("warning", fmt)
    logging.getLogger("alertflow.worker").info("hidden below the level")
    logging.getLogger("faust.worker").warning("from a library", extra={"filter_id": "abc"})
    err = capfd.readouterr().err.strip().splitlines()
    assert len(err) == 1
    if fmt == "json":
        assert json.loads(err[0])["logger"] == "faust.worker" and json.loads(err[0])["filter_id"] == "abc"
    else:
        assert err[0].endswith("WARNING faust.worker: from a library [filter_id=abc]")


def test_logging_config_refuses_unknown_formats_and_levels() -> None:
    assert logging_config("WARN", "json")["root"]["level"] == "WARNING"
    assert logging_config("debug", "TEXT")["root"]["level"] == "DEBUG"
    with pytest.raises(ValueError, match="log format"):
        logging_config("INFO", "xml")
    with pytest.raises(ValueError, match="log level"):
        logging_config("LOUD", "text")


# ---------------------------------------------------------------- a worker process logging JSON



@pytest.mark.integration
def test_worker_logs_json_lines_only(settings: Settings, tmp_path: Path) -> None:
    from dataclasses import replace

    from tests.agents.worker.test_streams import running_worker

    settings = replace(settings, log_format="json")  # type: ignore[call-arg]
    log = tmp_path / "worker.log"
    with running_worker(settings, log) as worker:
        worker.wait_ready()
        ends = asyncio.run(produce(connection(settings), settings.alert_topic, [*synthetic_messages(3, seed=5), b""], progress=False))
        worker.wait_caught_up(settings.alert_topic, ends)
    lines = [line for line in log.read_text().splitlines() if line.strip()]
    records = []
    for line in lines:
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            pytest.fail(f"not a JSON line in the worker's output: {line!r}")
    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)
    assert any(r["logger"] == "alertflow.worker" and "dead-lettered" in r["message"] for r in records)
    assert any(r["logger"].startswith(("faust", "mode", "aiokafka")) for r in records), "the libraries' logs too"
