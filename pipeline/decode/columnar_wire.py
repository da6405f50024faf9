"""Vectorised Avro primitives for the columnar reader: each call reads one value per lane, for
all lanes (bodies or array elements) at once, from one uint8 buffer holding every body.

Reads never raise: indices are clipped to the buffer, and a lane whose bytes cannot be valid gets
`BAD` added to its position, so it can never end exactly at its body's end (positions only grow).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BAD = 1 << 32  # added to the position of a lane whose bytes are invalid
INT32 = (-(1 << 31), (1 << 31) - 1)

_AR11 = np.arange(11, dtype=np.int64)
_AR10 = _AR11[:10]
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
    w = buf.take(pos[:, None] + _AR11, mode="clip")
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


def checked_lengths(values: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """BAD where a decoded value lies outside [lo, hi] (an int out of range, an enum index too big)."""
    return ((values < lo) | (values > hi)) * BAD


def string_spans(buf: np.ndarray, pos: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bytes/string at each position: (payload length, total encoded width); the width is BAD
    where the length is negative or runs past the body's end."""
    length, n = read_varints(buf, pos)
    bad = (length < 0) | (length > end - pos - n)
    return length, np.where(bad, BAD, n + length)


def gather_floats(buf: np.ndarray, pos: np.ndarray, dtype: str, size: int) -> np.ndarray:
    """Little-endian float32 or float64 values at each position, as float64 (float32 widened exactly)."""
    raw = buf.take(pos[:, None] + _AR11[:size], mode="clip")
    return raw.view(dtype).ravel().astype(np.float64)


def utf8_strings(data: bytes, buf: np.ndarray, start: np.ndarray, length: np.ndarray,
                 use: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Python strings for the elements where `use` (None elsewhere), and where UTF-8 was invalid.

    Short strings (band names) repeat: each distinct one is decoded once."""
    out = np.full(len(start), None, dtype=object)
    bad = np.zeros(len(start), dtype=bool)
    idx = np.flatnonzero(use)
    short = idx[length[idx] <= 7]
    if short.size:
        raw = buf.take(start[short, None] + _AR11[:8], mode="clip")
        raw[_AR11[:8] >= length[short, None]] = 0
        raw[:, 7] = length[short]
        keys, inverse = np.unique(raw.view("<u8").ravel(), return_inverse=True)
        texts = np.empty(len(keys), dtype=object)
        failed = np.zeros(len(keys), dtype=bool)
        for i, key in enumerate(keys.tolist()):
            texts[i], failed[i] = _decode(key.to_bytes(8, "little")[:key >> 56])
        out[short] = texts[inverse.ravel()]
        bad[short] = failed[inverse.ravel()]
    for i in idx[length[idx] > 7].tolist():
        out[i], bad[i] = _decode(data[start[i]:start[i] + length[i]])
    return out, bad


def _decode(raw: bytes) -> tuple[str | None, bool]:
    try:
        return raw.decode("utf-8"), False
    except UnicodeDecodeError:
        return None, True
