"""Values of one wanted field decoded at once for every element of a batch, from the positions
the reader noted (columnar_steps.ReadScalar), with the checks that make a body not ok."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .columnar_wire import AR11, PAIRS, BatchBytes, read_varints

DTYPES = {"float": np.float64, "double": np.float64, "boolean": np.bool_, "int": np.int64, "long": np.int64,
          "enum": np.int64, "string": object}
NULLS = {"float": np.nan, "double": np.nan, "boolean": False, "int": 0, "long": 0, "enum": 0, "string": None}
_RANGES = {"int": (-(1 << 31), (1 << 31) - 1), "long": (-(1 << 63), (1 << 63) - 1)}


class Kind(NamedTuple):
    """What a wanted field holds: its Avro type, its enum's symbol count, the union tag byte of its value."""
    name: str
    symbols: int = 0
    value_tag: int = 0


def decode_values(kind: Kind, batch: BatchBytes, at: np.ndarray, use: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Values at positions `at` (decoded where `use`; others unspecified), and where they are invalid."""
    name = kind.name
    if name in ("float", "double"):
        with np.errstate(invalid="ignore"):  # a signalling NaN widens quietly, as in C
            values = batch.read("<f4" if name == "float" else "<f8", at).astype(np.float64)
        return values, np.zeros(len(at), dtype=bool)
    if name == "boolean":
        return batch.buf.take(at, mode="clip") != 0, np.zeros(len(at), dtype=bool)
    if name == "string":
        length, width = read_varints(batch.buf, at)
        return utf8_strings(batch, at + width, length, use)
    values = varint_values(batch, at)
    lo, hi = _RANGES.get(name, (0, kind.symbols - 1))
    return values, (values < lo) | (values > hi)


def varint_values(batch: BatchBytes, at: np.ndarray) -> np.ndarray:
    """Zigzag varints at many positions (their lengths were checked while skipping them): bytes
    0-7 read as one word, their 7-bit groups up to the first stop byte packed pairwise, then
    bytes 8-9 where no byte of the word stopped."""
    u = batch.read("<u8", at)
    stops = ~u & _HIGH
    first = stops & (~stops + _ONE)  # the stop bit of the first stop byte; 0 if none of the 8 stops
    u &= ((first << _ONE) - _ONE) & _LOW7  # no stop: all 8 bytes kept
    for low, high, shift in PAIRS:
        u = (u & low) | ((u & high) >> shift)
    tail = batch.read("<u2", at + 8).astype(np.uint64) * (first == 0)
    u |= ((tail & _SEVEN) << _56) | ((tail >> _8) & _ONE) * ((tail & _CONTINUES) != 0) << _63  # byte 9 if byte 8 continues
    return (u >> _ONE).view(np.int64) ^ -(u & _ONE).view(np.int64)


_HIGH, _LOW7 = np.uint64(0x8080808080808080), np.uint64(0x7F7F7F7F7F7F7F7F)
_ONE, _SEVEN, _CONTINUES = np.uint64(1), np.uint64(0x7F), np.uint64(0x80)
_8, _56, _63 = np.uint64(8), np.uint64(56), np.uint64(63)


def _single_bytes() -> tuple[np.ndarray, np.ndarray]:
    """Strings of at most one byte by key (the byte, or 256 for ""), and which are invalid UTF-8."""
    texts = np.empty(257, dtype=object)
    failed = np.zeros(257, dtype=bool)
    for key in range(256):
        texts[key], failed[key] = _decode(bytes([key]))
    texts[256] = ""
    return texts, failed


def utf8_strings(batch: BatchBytes, start: np.ndarray, length: np.ndarray, use: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Python strings for the elements where `use` (None elsewhere), and where UTF-8 was invalid.

    Short strings (band names) repeat: one-byte ones come from a table, and each distinct one of
    up to 7 bytes is decoded once."""
    buf = batch.buf
    out = np.full(len(start), None, dtype=object)
    bad = np.zeros(len(start), dtype=bool)
    idx = np.flatnonzero(use)
    size = length[idx]
    tiny = idx[size <= 1]
    if tiny.size:
        keys = np.where(length[tiny] == 0, 256, buf.take(start[tiny], mode="clip").astype(np.intp))
        out[tiny], bad[tiny] = _SINGLE[0][keys], _SINGLE[1][keys]
    short = idx[(size > 1) & (size <= 7)]
    if short.size:
        raw = buf.take(start[short, None] + AR11[:8], mode="clip")
        raw[AR11[:8] >= length[short, None]] = 0
        raw[:, 7] = length[short]
        keys, inverse = np.unique(raw.view("<u8").ravel(), return_inverse=True)
        texts = np.empty(len(keys), dtype=object)
        failed = np.zeros(len(keys), dtype=bool)
        for i, key in enumerate(keys.tolist()):
            texts[i], failed[i] = _decode(key.to_bytes(8, "little")[:key >> 56])
        out[short] = texts[inverse.ravel()]
        bad[short] = failed[inverse.ravel()]
    for i in idx[size > 7].tolist():
        out[i], bad[i] = _decode(bytes(batch.data[start[i]:start[i] + length[i]]))
    return out, bad


def invalid_utf8(batch: BatchBytes, at: np.ndarray) -> np.ndarray:
    """Where the strings whose lengths are at positions `at` (in bodies that are ok, so every length
    is in bounds) are not valid UTF-8: strings of ASCII bytes only (nearly all) are found in one
    pass over all their bytes, only the others are decoded."""
    length, width = read_varints(batch.buf, at)
    bad = np.zeros(len(at), dtype=bool)
    some = np.flatnonzero(length > 0)
    if not some.size:
        return bad
    start, length = at[some] + width[some], length[some]
    first = np.cumsum(length) - length  # where each string begins in the joined bytes
    high = batch.buf[np.arange(int(first[-1] + length[-1])) + np.repeat(start - first, length)] >= 0x80
    if high.any():
        for k in np.flatnonzero(np.logical_or.reduceat(high, first)).tolist():
            bad[some[k]] = _decode(bytes(batch.data[start[k]:start[k] + length[k]]))[1]
    return bad


def _decode(raw: bytes) -> tuple[str | None, bool]:
    try:
        return raw.decode("utf-8"), False
    except UnicodeDecodeError:
        return None, True


_SINGLE = _single_bytes()
