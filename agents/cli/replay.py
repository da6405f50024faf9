"""Put alerts on the alert topic in wire format: from files, or synthetic, at a chosen rate.

Returns the next offset per partition as the broker acknowledged them, which callers use as
the true end of what was written (Tansu's ListOffsets reports the last batch's base offset + 1,
not the log end, so a high watermark cannot be trusted there). A message that cannot be sent (a
file that cannot be read or converted, a message over the size limit) stops the replay with a
ReplayError that says which and how many messages the broker had acknowledged before it.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from pathlib import Path

import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.errors import MessageSizeTooLargeError
from tqdm import tqdm

from agents.kafka.connection import KafkaConnection
from pipeline.decode.wire import DecodeError, wire_messages


class ReplayError(Exception):
    """The replay stopped at a message it could not send; one line for the user."""


class UnreadableInput(ReplayError):
    """A file that is missing, a folder, not an alert, or an alert the schema cannot encode."""


def check_paths(paths: Iterable[Path]) -> None:
    """Refuse missing files and folders before anything is sent."""
    for path in paths:
        if not path.exists():
            raise UnreadableInput(f"{path}: no such file")
        if not path.is_file():
            raise UnreadableInput(f"{path}: not a file (give the files in a folder, e.g. {path}/*)")


def file_messages(paths: Iterable[Path], loop: bool = False) -> Iterator[bytes]:
    while True:
        for path in paths:
            try:
                yield from wire_messages(path)
            except (DecodeError, OSError) as error:
                raise UnreadableInput(f"{path}: {getattr(error, 'strerror', None) or error}") from None
            except orjson.JSONDecodeError as error:
                raise UnreadableInput(f"{path}: not valid JSON: {error}") from None
            except ValueError as error:  # cavro, encoding a JSON alert that lacks a required field or has a wrong type
                raise UnreadableInput(f"{path}: not an alert the v11 schema can encode: {error}") from None
        if not loop:
            return


async def _paced(messages: Iterable[bytes], rate: float | None) -> AsyncIterator[bytes]:
    start = time.monotonic()
    for i, message in enumerate(messages):
        if rate:
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        yield message


async def produce(
    kafka: KafkaConnection,
    topic: str,
    messages: Iterable[bytes],
    *,
    rate: float | None = None,
    total: int | None = None,
    progress: bool = True,
    max_request_size: int = 1_048_576,
) -> dict[int, int]:
    """Produce every message (keyless, spread over partitions); wait for every acknowledgement."""
    producer = AIOKafkaProducer(**kafka.options(), linger_ms=5, max_request_size=max_request_size, acks="all")
    await producer.start()
    ends: dict[int, int] = {}
    pending: list[asyncio.Future] = []
    bar = tqdm(total=total, unit="alert", disable=not progress, desc=f"replay -> {topic}")
    number, size, acknowledged = 0, 0, 0

    def done(fut: asyncio.Future) -> None:
        nonlocal acknowledged
        if fut.cancelled() or fut.exception() is not None:
            return
        acknowledged += 1
        meta = fut.result()
        ends[meta.partition] = max(ends.get(meta.partition, 0), meta.offset + 1)
        bar.update(1)

    def stopped(cause: str) -> ReplayError:
        return ReplayError(f"{cause}; the broker had acknowledged {acknowledged} messages before it, nothing after was sent")

    try:
        async for message in _paced(messages, rate):
            number, size = number + 1, len(message)
            fut = await producer.send(topic, message)
            fut.add_done_callback(done)
            pending.append(fut)
            if len(pending) >= 1000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    except MessageSizeTooLargeError:
        await asyncio.gather(*pending, return_exceptions=True)
        raise stopped(f"message {number} is {size:,} bytes, over the {max_request_size:,}-byte limit of the producer"
                      f" (and the broker's message.max.bytes)") from None
    except UnreadableInput as error:
        await asyncio.gather(*pending, return_exceptions=True)
        raise stopped(str(error)) from None
    finally:
        await producer.stop()
        bar.close()
    return ends
