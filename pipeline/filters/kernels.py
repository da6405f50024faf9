"""Computations that both runtimes must perform identically, written once.

ROUND is written with numpy operations that behave the same on a scalar and on an array,
and LIKE patterns are compiled once and applied element by element in both runtimes, so
the per-row reference and the vectorised form cannot round or match differently.
"""
from __future__ import annotations

import functools
import re
from typing import Any

import numpy as np

from .collation import fold_chars

ROUND_DIGITS_LIMIT = 30  # MySQL caps ROUND's D at 30 decimals; we clamp to [-30, 30]
_POW10 = tuple(10.0 ** i for i in range(ROUND_DIGITS_LIMIT + 1))


def round_float(x: Any, digits: int, truncate: bool = False) -> Any:
    """MariaDB's my_double_round: scale by 10^D, rint() (halves to even) or truncate, unscale.

    A scaled value that overflows is returned unchanged, as MariaDB does.
    """
    integral = np.trunc if truncate else np.rint
    if digits >= 0:
        scale = _POW10[digits]
        scaled = x * scale
        return np.where(np.isfinite(scaled), integral(scaled) / scale, x)
    scale = _POW10[-digits]
    return integral(x / scale) * scale


def round_int(x: int, digits: int, truncate: bool = False) -> int:
    """ROUND (halves away from zero) or TRUNCATE of a BIGINT to a negative number of digits, exactly."""
    unit = 10 ** -digits
    quotient, remainder = divmod(abs(x), unit)
    if not truncate and 2 * remainder >= unit:
        quotient += 1
    return quotient * unit if x >= 0 else -quotient * unit


class LikePattern:
    """A LIKE pattern as fixed-length segments between `%`s, matched without backtracking.

    Literal characters are folded to their collation weights here (the subject is folded by the
    caller, `collation.fold_chars`), so matching follows utf8mb4_general_ci character by character
    (no padding: 'a ' is not LIKE 'a') while the escape character keeps its exact spelling.
    Leftmost matching of each segment is exact for `%`/`_` patterns and takes linear
    passes, so a hostile pattern such as '%a%a%a%a%b' cannot stall the engine.
    """

    __slots__ = ("_head", "_head_len", "_middle", "_tail", "_tail_len", "_text")

    def __init__(self, pattern: str, escape: str | None) -> None:
        self._text = (pattern, escape)
        segments: list[list[tuple[str, int]]] = [[]]  # (regex atom, characters it matches)
        i = 0
        while i < len(pattern):
            char = pattern[i]
            if escape and char == escape and i + 1 < len(pattern):
                i += 1
                char = fold_chars(pattern[i])
                segments[-1].append((re.escape(char), len(char)))
            elif char == "%":
                segments.append([])
            elif char == "_":
                segments[-1].append((".", 1))
            else:
                char = fold_chars(char)
                segments[-1].append((re.escape(char), len(char)))
            i += 1
        compiled = [re.compile("".join(atom for atom, _ in seg), re.DOTALL) for seg in segments]
        lengths = [sum(n for _, n in seg) for seg in segments]
        self._head, self._head_len = compiled[0], lengths[0]
        if len(segments) == 1:
            self._middle, self._tail, self._tail_len = (), None, 0
        else:
            self._middle = tuple(c for c, s in zip(compiled[1:-1], segments[1:-1]) if s)
            self._tail, self._tail_len = compiled[-1], lengths[-1]

    def matches(self, text: str) -> bool:
        if self._tail is None:
            return self._head.fullmatch(text) is not None
        end = len(text) - self._tail_len
        if end < self._head_len or self._head.match(text) is None:
            return False
        pos = self._head_len
        for segment in self._middle:
            found = segment.search(text, pos, end)
            if found is None:
                return False
            pos = found.end()
        return self._tail.fullmatch(text, end) is not None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LikePattern) and self._text == other._text

    def __hash__(self) -> int:
        return hash(self._text)

    def __repr__(self) -> str:
        return f"LikePattern{self._text!r}"


@functools.lru_cache(maxsize=4096)
def like_pattern(pattern: str, escape: str | None) -> LikePattern:
    """Patterns that come from data (not literals) are compiled on first use and cached."""
    return LikePattern(pattern, escape)
