"""Vectorised Avro primitives for the columnar reader: each call reads one value per lane, for
all lanes (bodies or array elements) at once, from one uint8 buffer holding every body.

Reads never raise: indices are clipped to the buffer, and a lane whose bytes cannot be valid gets
`BAD` added to its position, so it can never end exactly at its body's end (positions only grow).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BAD = 1 << 32  # added to the position of a lane whose bytes are invalid

AR11 = np.arange(11, dtype=np.int64)
_AR10 = AR11[:10]
_LENGTHS = np.array([*range(1, 11), BAD], dtype=np.int64)  # index of the stop byte -> varint length
_SHIFTS = np.arange(0, 70, 7, dtype=np.uint64)


@dataclass(slots=True)
class Lanes:
    """Positions being read in parallel: `pos` advances in place; `end` and `ids` (the body of each
    lane) stay fixed."""
    pos: np.ndarray
    end: np.ndarray
    ids: np.ndarray

    def subset(self, sel: np.ndarray) -> Lanes:
        return Lanes(self.pos[sel], self.end[sel], self.ids[sel])


def _window(buf: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """The 10 bytes a varint may span at each position, and an 11th stop byte so every row stops."""
    w = buf.take(pos[:, None] + AR11, mode="clip")
    w[:, 10] = 0
    return w


def varint_lengths(buf: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """Encoded length of the varint at each position (BAD for one longer than 10 bytes)."""
    return _LENGTHS.take((_window(buf, pos) < 0x80).argmax(1))


def read_varints(buf: np.ndarray, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Zigzag-decoded values (int64) and encoded lengths of the varints at each position."""
    w = _window(buf, pos)
    stop = (w < 0x80).argmax(1)
    bits = (w[:, :10] & 0x7F).astype(np.uint64) << _SHIFTS
    bits *= _AR10 <= stop[:, None]
    u = bits.sum(1, dtype=np.uint64)
    values = (u >> np.uint64(1)).view(np.int64) ^ -(u & np.uint64(1)).view(np.int64)
    return values, _LENGTHS.take(stop)


def string_spans(buf: np.ndarray, pos: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bytes/string at each position: (payload length, total encoded width); the width is BAD
    where the length is negative or runs past the body's end."""
    length, n = read_varints(buf, pos)
    bad = (length < 0) | (length > end - pos - n)
    return length, np.where(bad, BAD, n + length)
