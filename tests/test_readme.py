"""README's commands run as written: the development loop, parsed from README itself, and the
installed `alertflow` script in the venv README's set-up command creates (this session's venv).

The loop's only substitutions are the ones a reader makes: the address `run.py broker` prints
for `127.0.0.1:PORT`, and free web ports for the workers (6066 for the first, by default, and the
second's `ALERTFLOW_WEB_PORT=6067`), so that test sessions running side by side do not collide.
"""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from agents.dev.broker import free_port
from pipeline.settings import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text()
LONG_RUNNING = {"broker", "worker"}
READY_TIMEOUT = 90.0


def development_loop(text: str = README) -> list[list[str]]:
    """The commands of README's development loop: the indented block after "A development loop"."""
    after = text[text.index("A development loop"):].splitlines()
    start = next(i for i, line in enumerate(after) if line.startswith("    "))
    block = []
    for line in after[start:]:
        if line.strip() and not line.startswith("    "):
            break
        block.append(line.strip())
    joined = "\n".join(block).replace("\\\n", " ")
    return [shlex.split(line, comments=True) for line in joined.splitlines() if line.strip()]


def test_the_loop_is_what_this_test_expects() -> None:
    commands = [[t for t in c if "=" not in t or t.startswith("--")] for c in development_loop()]
    assert [c[2] for c in commands] == ["broker", "worker", "worker", "filter", "replay", "consume"]


def as_run(argv: list[str], address: str | None, web_port: int) -> tuple[dict[str, str], list[str]]:
    """(environment assignments, argv) of one README line, with the reader's substitutions."""
    argv = [t.replace("127.0.0.1:PORT", address) if address else t for t in argv]
    env: dict[str, str] = {}
    while re.fullmatch(r"[A-Z_]+=.*", argv[0]):
        name, _, value = argv.pop(0).partition("=")
        env[name] = str(web_port) if name == "ALERTFLOW_WEB_PORT" else value
    assert argv[:2] == ["python", "run.py"], argv
    return env, [sys.executable, str(REPO_ROOT / "run.py"), *argv[2:]]


def wait_ready(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    """Until the worker's /ready answers 200 (it polls the worker: there is no push to await)."""
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        assert process.poll() is None, f"worker exited with {process.returncode}: {log.read_text()[-2000:]}"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        assert time.monotonic() < deadline, f"worker not ready in {READY_TIMEOUT} s: {log.read_text()[-2000:]}"
        time.sleep(0.2)


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in reversed(started):
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.mark.integration
def test_the_development_loop_runs_as_written(tmp_path: Path, processes: list[subprocess.Popen[bytes]]) -> None:
    base = {k: v for k, v in os.environ.items() if not k.startswith("ALERTFLOW_")}
    base["ALERTFLOW_WEB_PORT"] = str(free_port())  # the first worker's default 6066, freed of other sessions
    address = None
    workers: list[tuple[subprocess.Popen[bytes], int, Path]] = []
    outputs: dict[str, subprocess.CompletedProcess[str]] = {}
    for line in development_loop():
        web_port = free_port()
        env, argv = as_run(line, address, web_port)
        env = {**base, **env}
        command = argv[2]
        if command == "broker":
            broker = subprocess.Popen(argv, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
            processes.append(broker)
            printed = broker.stdout.readline().decode().strip()  # type: ignore[union-attr]
            assert re.fullmatch(r"127\.0\.0\.1:\d+", printed), printed
            address = printed
        elif command in LONG_RUNNING:
            log = tmp_path / f"worker{len(workers)}.log"
            worker = subprocess.Popen(argv, env=env, cwd=tmp_path, stdout=log.open("wb"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            processes.append(worker)
            workers.append((worker, int(env["ALERTFLOW_WEB_PORT"]), log))
        else:
            for worker, port, log in workers:
                wait_ready(worker, port, log)
            result = subprocess.run(argv, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
            assert result.returncode == 0, (line, result.stderr[-2000:])
            outputs[command] = result
            if command == "replay":
                sent = line[line.index("--synthetic") + 1]
    assert "topic lasair_7Bright" in outputs["filter"].stdout
    assert f"replayed {sent} messages" in outputs["replay"].stdout
    records = [orjson.loads(line) for line in outputs["consume"].stdout.splitlines()]
    assert records and all({"diaObjectId", "ra", "decl"} <= set(r) for r in records)
    assert f"{len(records)} records from lasair_7Bright" in outputs["consume"].stderr
    assert len(workers) == 2 and all(worker.poll() is None for worker, _, _ in workers), "a worker died"


def test_alertflow_script_works_in_the_readme_venv() -> None:
    """README's set-up command makes .venv with the package installed; this session runs in it."""
    script = Path(sys.executable).parent / "alertflow"
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60, cwd="/")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: alertflow") and "filter" in result.stdout


def test_ci_runs_the_readme_test_command() -> None:
    commands = re.findall(r"^    (python3 -m venv .*)$", README, flags=re.M)
    assert len(commands) == 2 and commands[0].endswith("run.py demo"), commands  # README starts with exactly these two
    assert commands[1] in (REPO_ROOT / ".ci" / "run").read_text().splitlines()


def test_the_main_job_runs_as_written() -> None:
    """README's first command, after its venv set-up (this session's venv): the demo on the embedded
    default, which must end well and show every part the README promises."""
    first = re.findall(r"^    (python3 -m venv .*)$", README, flags=re.M)[0]
    demo = shlex.split(first.split("&&")[-1])
    assert demo[0] == ".venv/bin/python", demo
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALERTFLOW_")}
    result = subprocess.run([sys.executable, *demo[1:]], cwd=REPO_ROOT, env={**env, "ALERTFLOW_WEB_PORT": str(free_port())},
                            capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    for shown in ("alerts processed   2003", "Supernova candidates (plain)", "e-mail sent at once", "dead-letter topic:",
                  "worker stopped with SIGTERM, exit status 0"):
        assert shown in out, (shown, out[-3000:])
