"""A worker as a separate process (`run.py worker`), as production runs it: for the demo and tests.

Progress is judged by the consumer group's committed offsets against the offsets the producer
was acknowledged, never by sleeping or by the broker's high watermark.
"""
from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import replace
from pathlib import Path
from typing import Any

from agents.kafka.admin import group_progress
from agents.kafka.connection import KafkaConnection
from pipeline.settings import REPO_ROOT, Settings, env_name
from .broker import _die_with_parent, free_port


def settings_env(settings: Settings) -> dict[str, str]:
    return {env_name(name): str(value) for name, value in vars(settings).items()}


class WorkerProcess:
    def __init__(self, settings: Settings, log_path: Path):
        self.settings = settings
        self.kafka = KafkaConnection.from_settings(settings)
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    @classmethod
    def with_free_port(cls, settings: Settings, log_path: Path) -> WorkerProcess:
        return cls(replace(settings, web_port=free_port()), log_path)

    def start(self) -> WorkerProcess:
        env = dict(os.environ, **settings_env(self.settings))
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [sys.executable, str(REPO_ROOT / "run.py"), "worker"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=REPO_ROOT,
            preexec_fn=_die_with_parent,
        )
        return self

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def wait_caught_up(self, topic: str, ends: dict[int, int], timeout: float = 120.0) -> dict[int, int]:
        """Block until the group has committed at least `ends` on every partition of `topic`."""
        deadline = time.monotonic() + timeout
        while True:
            progress = asyncio.run(group_progress(self.kafka, self.settings.app_id, topic))
            committed = {p: c for p, (c, _) in progress.items()}
            if all(committed.get(p, 0) >= end for p, end in ends.items()):
                return committed
            if not self.alive():
                raise RuntimeError(f"worker exited with status {self.process.returncode}; log: {self.log_path}")  # type: ignore[union-attr]
            if time.monotonic() > deadline:
                raise TimeoutError(f"worker committed {committed}, expected {ends} within {timeout:.0f} s; log: {self.log_path}")
            time.sleep(0.5)

    def get(self, path: str) -> tuple[int, dict[str, Any]]:
        url = f"http://{self.settings.web_host}:{self.settings.web_port}{path}"
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.status, json.load(response)
        except urllib.error.HTTPError as error:
            text = error.read().decode(errors="replace")
            try:
                return error.code, json.loads(text)
            except ValueError:  # a server error page, not one of ours: its text, with its status
                return error.code, {"error": text}

    def stats(self) -> dict[str, Any]:
        return self.get("/stats")[1]

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Until `/ready` says yes: registry read, alert partitions assigned."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                if self.get("/ready")[0] == 200:
                    return
            except OSError:
                pass  # web server not up yet
            if not self.alive():
                raise RuntimeError(f"worker exited with status {self.process.returncode}; log: {self.log_path}")  # type: ignore[union-attr]
            if time.monotonic() > deadline:
                raise TimeoutError(f"worker not ready within {timeout:.0f} s; log: {self.log_path}")
            time.sleep(0.2)

    def kill(self) -> int:
        """SIGKILL: a crash, with no chance to flush or commit."""
        assert self.process is not None
        self.process.kill()
        return self.process.wait()

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM, as an orchestrator would; the worker drains, commits and exits."""
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode
