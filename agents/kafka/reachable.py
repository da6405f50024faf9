"""Is the broker there at all? A quick TCP check before a command starts a Kafka client.

aiokafka retries an unreachable bootstrap address for a while and then raises
KafkaConnectionError with a traceback; a command checks first and says so in one line.
"""
from __future__ import annotations

import socket

from agents.kafka.connection import KafkaConnection

CONNECT_TIMEOUT = 3.0


class BrokerUnreachable(RuntimeError):
    """The broker cannot be reached or did not answer; the message is one line for the operator."""


def check_reachable(kafka: KafkaConnection, timeout: float = CONNECT_TIMEOUT) -> None:
    """Raise BrokerUnreachable unless some bootstrap address accepts a TCP connection."""
    errors = []
    for address in filter(None, (a.strip() for a in kafka.bootstrap.split(","))):
        host, _, port = address.rpartition(":")
        try:
            with socket.create_connection((host.strip("[]") or "localhost", int(port)), timeout=timeout):
                return
        except (OSError, ValueError) as error:
            errors.append(f"{address}: {error.strerror if isinstance(error, OSError) and error.strerror else error}")
    raise BrokerUnreachable(f"cannot reach the broker at {kafka.bootstrap} ({'; '.join(errors) or 'no address given'})")
