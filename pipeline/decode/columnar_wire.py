"""Vectorised Avro primitives for the columnar reader: each call reads one value per lane, for
all lanes (bodies or array elements) at once, from one uint8 buffer holding every body.

Reads never raise: indices are clipped to the buffer, and a lane whose bytes cannot be valid gets
`BAD` added to its position, so it can never end exactly at its body's end (positions only grow).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import as_strided

BAD = 1 << 32  # added to the position of a lane whose bytes are invalid

AR11 = np.arange(11, dtype=np.int64)
_AR10 = AR11[:10]
_LENGTHS = np.array([*range(1, 11), BAD], dtype=np.int64)  # index of the stop byte -> varint length


@dataclass(slots=True)
class Lanes:
    """Positions being read in parallel: `pos` advances in place; `end` and `ids` (the body of each
    lane) stay fixed."""
    pos: np.ndarray
    end: np.ndarray
    ids: np.ndarray

    def subset(self, sel: np.ndarray) -> Lanes:
        return Lanes(self.pos[sel], self.end[sel], self.ids[sel])


class BatchBytes:
    """The batch's bodies in one buffer (`data`, ending in at least 8 padding bytes), as bytes
    (`buf`) and as little-endian values of any width read at any byte offset: one fancy index
    per column instead of a 2-D gather."""

    def __init__(self, data: memoryview) -> None:
        self.data = data
        self.buf = np.frombuffer(data, dtype=np.uint8)
        self._last = len(data) - 8  # offsets past the bodies read the padding: garbage, never out of bounds
        self._views: dict[str, np.ndarray] = {}

    def read(self, dtype: str, at: np.ndarray) -> np.ndarray:
        view = self._views.get(dtype)
        if view is None:
            size = np.dtype(dtype).itemsize
            aligned = np.frombuffer(self.data, dtype=dtype, count=len(self.data) // size)
            view = as_strided(aligned, shape=(len(self.data) - size + 1,), strides=(1,), writeable=False)
            self._views[dtype] = view
        return view[np.minimum(at, self._last)]


def _window(buf: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """The 10 bytes a varint may span at each position, and an 11th stop byte so every row stops."""
    w = buf.take(pos[:, None] + AR11, mode="clip")
    w[:, 10] = 0
    return w


def varint_widths(buf: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """Encoded length of the varint at each position (BAD for one longer than 10 bytes)."""
    return _LENGTHS.take((_window(buf, pos) < 0x80).argmax(1))


def varint_lengths(buf: np.ndarray, pos: np.ndarray) -> np.ndarray | int:
    """`varint_widths`, or 1 when all are one byte long, which is checked first (small ints, lengths)."""
    if buf.take(pos, mode="clip").max(initial=0) < 0x80:
        return 1
    return varint_widths(buf, pos)


PAIRS = [(np.uint64(0x007F007F007F007F), np.uint64(0x7F007F007F007F00), np.uint64(1)),
          (np.uint64(0x00003FFF00003FFF), np.uint64(0x3FFF00003FFF0000), np.uint64(2)),
          (np.uint64(0x000000000FFFFFFF), np.uint64(0x0FFFFFFF00000000), np.uint64(4))]


def read_varints(buf: np.ndarray, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Zigzag-decoded values (int64) and encoded lengths of the varints at each position."""
    first = buf.take(pos, mode="clip")
    if first.max(initial=0) < 0x80:
        u = first.astype(np.uint64)
        width = np.ones(len(pos), dtype=np.int64)
    else:
        w = _window(buf, pos)
        stop = (w < 0x80).argmax(1)
        groups = w[:, :10] & 0x7F
        groups[_AR10 > stop[:, None]] = 0
        u = np.ascontiguousarray(groups[:, :8]).view("<u8").ravel()
        for low, high, shift in PAIRS:  # the 7-bit groups of 8 bytes packed together, pairwise
            u = (u & low) | ((u & high) >> shift)
        u |= (groups[:, 8].astype(np.uint64) << np.uint64(56)) | (groups[:, 9].astype(np.uint64) << np.uint64(63))
        width = _LENGTHS.take(stop)
    return (u >> np.uint64(1)).view(np.int64) ^ -(u & np.uint64(1)).view(np.int64), width


def string_widths(buf: np.ndarray, pos: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Total encoded width of the bytes/string at each position: BAD where the length is negative
    or runs past the body's end. Strings under 64 bytes (one-byte lengths, such as band names) in
    one table lookup: they cannot jump far, and the end check catches them."""
    first = buf.take(pos, mode="clip")
    if first.max(initial=0) < 0x80:
        return _SHORT_STRINGS.take(first)
    length, n = read_varints(buf, pos)
    return np.where((length < 0) | (length > end - pos - n), BAD, n + length)


_SHORT_STRINGS = np.array([1 + (b >> 1) if b % 2 == 0 else BAD for b in range(128)], dtype=np.int64)  # odd: negative
