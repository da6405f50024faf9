"""The embedded broker answers the Kafka protocol and never outlives whoever started it."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from agents.dev.broker import EmbeddedBroker, kafka_answers
from pipeline.settings import REPO_ROOT

REPO = REPO_ROOT

STARTER = """
import sys, time
sys.path.insert(0, {repo!r})
from agents.dev.broker import EmbeddedBroker
b = EmbeddedBroker().start()
print(b.process.pid, b.port, flush=True)
time.sleep(600)
"""


def wait_gone(pid: int, timeout: float = 10.0) -> bool:
    """Poll for the process to disappear; no event exists for a non-child's death."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        with open(f"/proc/{pid}/stat") as f:
            if f.read().split()[2] == "Z":  # a zombie is dead, only not yet reaped
                return True
        time.sleep(0.05)
    return False


def test_start_answers_and_stop_leaves_nothing() -> None:
    with EmbeddedBroker() as broker:
        assert kafka_answers("127.0.0.1", broker.port)
        pid = broker.process.pid
    assert broker.process.returncode is not None
    assert wait_gone(pid)
    assert not kafka_answers("127.0.0.1", broker.port)


def test_broker_dies_when_parent_is_killed() -> None:
    parent = subprocess.Popen([sys.executable, "-c", STARTER.format(repo=str(REPO))], stdout=subprocess.PIPE, text=True)
    broker_pid, port = map(int, parent.stdout.readline().split())
    assert kafka_answers("127.0.0.1", port)
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    assert wait_gone(broker_pid), "tansu outlived its SIGKILLed parent"


def test_broker_command_prints_bootstrap_and_stops_on_sigterm() -> None:
    proc = subprocess.Popen([sys.executable, str(REPO / "run.py"), "broker"], stdout=subprocess.PIPE, text=True)
    try:
        bootstrap = proc.stdout.readline().strip()
        host, port = bootstrap.split(":")
        assert host == "127.0.0.1" and kafka_answers(host, int(port))
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
    assert not kafka_answers(host, int(port))
