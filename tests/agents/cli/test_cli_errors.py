"""A user's mistake or an unreachable broker: one line on stderr, a non-zero exit, no traceback.

Every case runs `run.py` as a user would (a subprocess), against the session's broker where a
broker is needed, with topics of the test's own (the settings fixture).
"""
from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from agents.cli.status import existing_topics
from agents.dev.broker import free_port
from agents.dev.worker_process import settings_env
from pipeline.decode.wire import encode_wire
from pipeline.settings import REPO_ROOT, Settings
from pipeline.synthetic.alerts import synthetic_alerts
from tests.conftest import connection

SQL = "SELECT objects.diaObjectId FROM objects"


def run(*argv: str, settings: Settings | None = None, cwd: Path = REPO_ROOT) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALERTFLOW_")}
    if settings is not None:
        env.update(settings_env(settings))
    return subprocess.run([sys.executable, str(REPO_ROOT / "run.py"), *argv], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL)


def one_line_failure(result: subprocess.CompletedProcess[str], *expected: str) -> str:
    """The one line on stderr, after checking the exit status and that it says what it should."""
    assert result.returncode != 0, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for text in expected:
        assert text in lines[0], lines[0]
    assert "Traceback" not in result.stderr
    return lines[0]


@pytest.fixture
def nowhere() -> str:
    return f"127.0.0.1:{free_port()}"  # nothing listens there


@pytest.mark.parametrize("argv", [
    ["filter", "list"],
    ["filter", "add", "--user", "7", "--name", "Bright", "--mode", "plain", "--sql", SQL],
    ["replay", "--synthetic", "3"],
    ["consume", "lasair_7Bright"],
    ["status"],
], ids=lambda argv: " ".join(argv[:2]))
def test_an_unreachable_broker_is_one_line(argv: list[str], nowhere: str) -> None:
    one_line_failure(run(*argv, "--bootstrap", nowhere), f"cannot reach the broker at {nowhere}")


def test_bootstrap_is_accepted_before_the_filter_action_too(nowhere: str) -> None:
    one_line_failure(run("filter", "--bootstrap", nowhere, "list"), f"cannot reach the broker at {nowhere}")


def write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


def test_replay_of_a_folder(settings: Settings, tmp_path: Path) -> None:
    one_line_failure(run("replay", str(tmp_path), settings=settings), f"{tmp_path}: not a file")


def test_replay_of_a_missing_file(settings: Settings, tmp_path: Path) -> None:
    one_line_failure(run("replay", str(tmp_path / "gone.avro"), settings=settings), "gone.avro: no such file")


def test_replay_of_bad_json(settings: Settings, tmp_path: Path) -> None:
    path = write(tmp_path, "bad.json", b'{"diaSourceId": ')
    one_line_failure(run("replay", str(path), settings=settings), "bad.json: not valid JSON", "acknowledged 0 messages")


def test_replay_of_a_json_alert_missing_fields(settings: Settings, tmp_path: Path) -> None:
    path = write(tmp_path, "partial.json", b'{"diaSourceId": 1, "diaSource": {"ra": 1.0}}')
    one_line_failure(run("replay", str(path), settings=settings), "partial.json: not an alert the v11 schema can encode")


def test_replay_of_a_message_over_the_size_limit_says_what_was_sent(settings: Settings, tmp_path: Path) -> None:
    good, big = synthetic_alerts(2, seed=3)
    big["cutoutDifference"] = b"\x01" * (3 * 1024 * 1024)
    first = write(tmp_path, "good.wire", encode_wire(good, 1100))
    second = write(tmp_path, "big.wire", encode_wire(big, 1100))
    line = one_line_failure(run("replay", str(first), str(second), settings=settings), "message 2 is 3,1")
    assert "acknowledged 1 messages before it" in line


def test_replay_of_a_negative_count(settings: Settings) -> None:
    one_line_failure(run("replay", "--synthetic", "-5", settings=settings), "--synthetic: -5 is below 0")


def test_a_quota_out_of_range_is_refused_before_any_topic_exists(settings: Settings) -> None:
    before = asyncio.run(existing_topics(connection(settings)))
    result = run("filter", "add", "--user", "7", "--name", "Huge", "--mode", "plain", "--sql", SQL, "--quota-bytes", str(10**30),
                 settings=settings)
    one_line_failure(result, "refused: quota_bytes: must be between 1 and 10,000,000,000, got 1,000,000,000,000,000,000,000,000,000,000")
    created = asyncio.run(existing_topics(connection(settings))) - before
    assert not [t for t in created if t.startswith(settings.topic_prefix)], created


def test_broker_on_an_impossible_port() -> None:
    one_line_failure(run("broker", "--port", "99999"), "--port: 99999 is out of range: 1 to 65535")


def test_broker_on_a_taken_port_fails(broker) -> None:  # type: ignore[no-untyped-def]
    one_line_failure(run("broker", "--port", str(broker.port)), f"port {broker.port} on 127.0.0.1 is not available")


def test_a_second_worker_on_a_taken_web_port_says_so(settings: Settings) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run("worker", settings=replace(settings, web_port=port))
    one_line_failure(result, f"port {port} on 127.0.0.1 is not available", "ALERTFLOW_WEB_PORT")


def test_a_worker_with_an_unreachable_broker_is_one_line(settings: Settings, nowhere: str) -> None:
    one_line_failure(run("worker", settings=replace(settings, bootstrap=nowhere, web_port=free_port())),
                     f"cannot reach the broker at {nowhere}")


def test_a_worker_without_its_dust_map_is_one_line(settings: Settings, tmp_path: Path) -> None:
    result = run("worker", settings=replace(settings, web_port=free_port(), sfd_map_dir=str(tmp_path)))
    one_line_failure(result, f"ALERTFLOW_SFD_MAP_DIR={tmp_path}: no SFD_dust_4096_ngp.fits there")


def test_alertflow_debug_shows_the_traceback(nowhere: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALERTFLOW_")}
    result = subprocess.run([sys.executable, str(REPO_ROOT / "run.py"), "consume", "t", "--bootstrap", nowhere], capture_output=True,
                            text=True, timeout=60, env={**env, "ALERTFLOW_DEBUG": "1"}, stdin=subprocess.DEVNULL)
    assert result.returncode != 0 and "Traceback" in result.stderr and "BrokerUnreachable" in result.stderr
