"""Synthetic Rubin v11.0 alerts, shaped and sized like the real stream.

Decoding, feature and filter benchmarks and tests need many alerts offline, the same on
every run, whose history lengths, value ranges, null patterns and encoded sizes resemble
Rubin's. So objects are simulated rather than fields filled at random: each object
(a transient, a periodic variable, an AGN or a bogus detection) gets a light curve sampled
at a Rubin-like cadence, its brightest epochs become diaSources, every epoch since shortly
before its first detection gets forced photometry, and each of its alerts carries the
history before it, so an object's histories grow as it recurs.

Objects are interleaved from a pool of `_ACTIVE_OBJECTS`, which bounds memory and keeps
consecutive alerts mostly unrelated; in exchange the stream is not globally ordered in
time (each object's alerts are). Alerts of one object share their source dicts, as a
copy per alert would triple the memory of a materialised list: treat records as
read-only, or deep-copy before mutating.
"""
from __future__ import annotations

import random
from typing import Any, Iterator

from pipeline.decode.wire import encode_wire as _encode_wire
from .cadence import _ACTIVE_OBJECTS, DEFAULT_CUTOUT_SIZE, SCHEMA_ID
from .objects import _Object


def synthetic_alerts(n: int, seed: int = 0, *, cutouts: bool = False,
                     cutout_size: int = DEFAULT_CUTOUT_SIZE) -> Iterator[dict[str, Any]]:
    """Yield `n` v11.0 alert records, identical for the same `seed`.

    With `cutouts`, each cutout field holds `cutout_size` pseudo-random bytes (not FITS)
    drawn from a separate generator, so the rest of each record does not depend on it.
    """
    cut_rng = random.Random(f"{seed}:cutouts")
    for _, alert in object_alerts(n, seed):
        if cutouts:
            for name in ("cutoutDifference", "cutoutScience", "cutoutTemplate"):
                alert[name] = cut_rng.randbytes(cutout_size)
        yield alert


def object_alerts(n: int, seed: int = 0) -> Iterator[tuple[_Object, dict[str, Any]]]:
    """`synthetic_alerts` without cutouts, each with the simulated object it came from (its kind
    and true position), for what must match the stream, such as the synthetic catalogue."""
    if n < 0:
        raise ValueError("n must be >= 0")
    rng = random.Random(seed)
    id_block = rng.randrange(1 << 24)  # streams of different seeds get different ids
    pool: list[_Object] = []
    for _ in range(n):
        while len(pool) < _ACTIVE_OBJECTS:
            pool.append(_Object(rng.getrandbits(64), id_block))
            id_block += 1
        i = rng.randrange(len(pool))
        obj = pool[i]
        alert = obj.next_alert()
        if not obj.remaining:
            pool[i] = pool[-1]
            pool.pop()
        yield obj, alert


def encode_wire(record: dict[str, Any], schema_id: int = SCHEMA_ID) -> bytes:
    """`pipeline.decode.wire.encode_wire` defaulting to the schema these alerts are made for."""
    return _encode_wire(record, schema_id)


def synthetic_messages(n: int, seed: int = 0) -> Iterator[bytes]:
    """`synthetic_alerts` as Kafka messages in wire format."""
    return map(encode_wire, synthetic_alerts(n, seed))
