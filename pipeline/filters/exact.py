"""MariaDB's exact DECIMAL values, and the integer operations MariaDB does in BIGINT UNSIGNED.

A DECIMAL value is an integer scaled by 10^frac (`frac` fixed per IR node by the analyser). An
operation computes in int64 when its operands are int64 and small enough that it cannot overflow
(`_fit`: the common `nPosDiaSources / nDiaSources >= 0.6667` stays in int64), else with Python ints
in numpy object arrays, exact at any size; both give the same numbers, vectorised over a batch. These helpers take and give (values, mask) pairs as `vector_ops` does; the per-row
runtime applies the very same functions to one-element arrays (`row_ops.lift`), so the two
forms cannot differ. Masked (NULL) positions hold 0, never used.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np

Pair = tuple[Any, Any]
_U64 = (1 << 64) - 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def _or(a: Any, b: Any) -> Any:
    return b if a is None else a if b is None else a | b


def exact(values: Any) -> Any:
    """Values as Python ints in an object array of at least one dimension (numpy turns operations on
    0-d arrays into scalars, and a Python int scalar meeting numpy could be squeezed into int64)."""
    if isinstance(values, (np.ndarray, np.generic)):
        return np.atleast_1d(np.asarray(values).astype(object))
    return np.array([values], dtype=object)


_FAST = 2**62  # int64 computations keep every operand and result below this


def _magnitude(values: np.ndarray) -> int:
    return max(-int(values.min()), int(values.max()), 0) if values.size else 0


def _fit(values: Any, factor: int = 1) -> Any:
    """int64 values, if they are int64 and |value| * factor stays below 2^62 (so the caller's int64
    operations cannot overflow); else exact Python ints."""
    if (isinstance(values, (np.ndarray, np.generic)) and values.dtype == np.int64 and factor < _FAST
            and _magnitude(np.atleast_1d(values)) * factor < _FAST):
        return np.atleast_1d(values)
    return exact(values)


def _sign_apply(negative: Any, magnitude: Any) -> Any:
    return np.where(negative, -magnitude, magnitude)


def _scaled(x: Pair, frac: int, to: int) -> Any:
    return _fit(x[0], 10 ** (to - frac)) * 10 ** (to - frac)


def _int64(values: Any, mask: Any) -> Pair:
    """Exact integers as BIGINT: outside its range is NULL (MariaDB's out-of-range error)."""
    bad = (values < INT64_MIN) | (values > INT64_MAX)
    bad = np.asarray(bad, dtype=bool)
    return np.where(bad, 0, values).astype(np.int64), _or(mask, bad if bad.any() else None)


# -- conversions --------------------------------------------------------------------------------


def dec_from_int(x: Pair, frac: int) -> Pair:
    return _scaled(x, 0, frac), x[1]


def dec_to_float(x: Pair, frac: int) -> Pair:
    """Correctly rounded: one division of two exact doubles (below 2^53 and 10^22), or of Python ints."""
    small = _fit(x[0])
    if small.dtype == np.int64 and _magnitude(small) < 2**53 and frac <= 22:
        values = small.astype(np.float64) / 10.0**frac
    else:
        values = np.asarray(exact(x[0]) / 10**frac).astype(np.float64)
    return (values if x[1] is None else np.where(x[1], np.nan, values)), x[1]


def dec_from_float(x: Pair, frac: int) -> Pair:
    """A double as MariaDB converts it (its shortest decimal form), rounded half up to `frac` digits."""
    def convert(value: float) -> int:
        if not np.isfinite(value):
            return 0
        return int(Decimal(repr(float(value))).scaleb(frac).quantize(Decimal(1), rounding="ROUND_HALF_UP"))
    values = np.asarray(x[0], dtype=np.float64)
    out = np.empty(values.shape, dtype=object)
    out.reshape(-1)[:] = [convert(v) for v in values.reshape(-1)]
    return out, _or(x[1], ~np.isfinite(values) if not np.isfinite(values).all() else None)


# -- rounding -----------------------------------------------------------------------------------


def _unit_parts(values: Any, digits: int) -> tuple[Any, Any, Any, Any]:
    """(values, |values| // 10^digits, remainder, 10^digits)."""
    unit = 10**digits
    values = _fit(values, 2 * unit)
    magnitude = np.abs(values)
    return values, magnitude // unit, magnitude % unit, unit


def dec_round(x: Pair, frac: int, to: int) -> Pair:
    """Half away from zero, from `frac` to `to` decimals (MariaDB's DECIMAL rounding)."""
    if to >= frac:
        return _scaled(x, frac, to), x[1]
    values, quotient, remainder, unit = _unit_parts(x[0], frac - to)
    return _sign_apply(values < 0, quotient + (2 * remainder >= unit)), x[1]


def dec_truncate(x: Pair, frac: int, to: int) -> Pair:
    if to >= frac:
        return _scaled(x, frac, to), x[1]
    values, quotient, _, _ = _unit_parts(x[0], frac - to)
    return _sign_apply(values < 0, quotient), x[1]


def dec_floor(x: Pair, frac: int) -> Pair:
    """FLOOR of a DECIMAL: a BIGINT."""
    return _int64(_fit(x[0], 10**frac) // 10**frac, x[1])


def dec_ceil(x: Pair, frac: int) -> Pair:
    return _int64(-(-_fit(x[0], 10**frac) // 10**frac), x[1])


def dec_rescale(x: Pair, frac: int, to: int) -> Pair:
    """Same value with more decimals (to >= frac)."""
    return _scaled(x, frac, to), x[1]


# -- arithmetic ---------------------------------------------------------------------------------


def dec_add(a: Pair, b: Pair) -> Pair:
    return _fit(a[0]) + _fit(b[0]), _or(a[1], b[1])


def dec_sub(a: Pair, b: Pair) -> Pair:
    return _fit(a[0]) - _fit(b[0]), _or(a[1], b[1])


def dec_mul(a: Pair, b: Pair) -> Pair:
    bv = _fit(b[0])
    factor = _magnitude(bv) + 1 if bv.dtype == np.int64 else _FAST
    return _fit(a[0], factor) * bv, _or(a[1], b[1])


def dec_neg(x: Pair) -> Pair:
    return -_fit(x[0]), x[1]


def dec_abs(x: Pair) -> Pair:
    return np.abs(_fit(x[0])), x[1]


def _divisor(b: Any) -> tuple[Any, Any]:
    bv = _fit(b)
    zero = np.asarray(bv == 0, dtype=bool)
    return np.where(zero, 1, bv), zero


def dec_div(a: Pair, b: Pair, shift: int) -> Pair:
    """a * 10^shift / b truncated toward zero (MariaDB computes a quotient's digits and stops); x/0 is NULL."""
    divisor, zero = _divisor(b[0])
    numerator = _fit(a[0], 10**shift) * 10**shift
    quotient = np.abs(numerator) // np.abs(divisor)
    values = _sign_apply((numerator < 0) != (divisor < 0), quotient)
    return np.where(zero, 0, values), _or(_or(a[1], b[1]), zero if zero.any() else None)


def dec_intdiv(a: Pair, b: Pair, a_shift: int, b_shift: int) -> Pair:
    """DIV with a DECIMAL: the truncated quotient as a BIGINT."""
    divisor, zero = _divisor(_fit(b[0], 10**b_shift) * 10**b_shift)
    numerator = _fit(a[0], 10**a_shift) * 10**a_shift
    values = _sign_apply((numerator < 0) != (divisor < 0), np.abs(numerator) // np.abs(divisor))
    return _int64(np.where(zero, 0, values), _or(_or(a[1], b[1]), zero if zero.any() else None))


def dec_mod(a: Pair, b: Pair) -> Pair:
    """MOD takes the dividend's sign, as MariaDB's."""
    divisor, zero = _divisor(b[0])
    av = _fit(a[0])
    values = _sign_apply(av < 0, np.abs(av) % np.abs(divisor))
    return np.where(zero, 0, values), _or(_or(a[1], b[1]), zero if zero.any() else None)


# -- BIGINT UNSIGNED: bitwise operators and CAST(... AS UNSIGNED) ----------------------------------


def _unsigned(values: Any) -> Any:
    return np.asarray(exact(values) & _U64, dtype=object)  # an array even for one value: never int64 again


def bit_and(a: Pair, b: Pair) -> Pair:
    return _unsigned(a[0]) & _unsigned(b[0]), _or(a[1], b[1])


def bit_or(a: Pair, b: Pair) -> Pair:
    return _unsigned(a[0]) | _unsigned(b[0]), _or(a[1], b[1])


def bit_xor(a: Pair, b: Pair) -> Pair:
    return _unsigned(a[0]) ^ _unsigned(b[0]), _or(a[1], b[1])


def bit_not(x: Pair) -> Pair:
    return _unsigned(x[0]) ^ _U64, x[1]


def shift_left(a: Pair, b: Pair) -> Pair:
    """A shift by 64 or more (or a negative count, read unsigned) is 0, as MariaDB's."""
    count = _unsigned(b[0])
    small = np.asarray(count < 64, dtype=bool)
    return np.where(small, (_unsigned(a[0]) << exact(np.where(small, count, 0))) & _U64, 0), _or(a[1], b[1])


def shift_right(a: Pair, b: Pair) -> Pair:
    count = _unsigned(b[0])
    small = np.asarray(count < 64, dtype=bool)
    return np.where(small, _unsigned(a[0]) >> exact(np.where(small, count, 0)), 0), _or(a[1], b[1])


def bit_count(x: Pair) -> Pair:
    counts = np.asarray([int(v).bit_count() for v in np.asarray(_unsigned(x[0])).reshape(-1)], dtype=np.int64)
    return counts.reshape(np.shape(x[0])), x[1]


def unsigned_range(x: Pair) -> Pair:
    """A BIGINT UNSIGNED result: outside 0 .. 2^64 - 1 is NULL (MariaDB's out-of-range error)."""
    values = exact(x[0])
    bad = np.asarray((values < 0) | (values > _U64), dtype=bool)
    return np.where(bad, 0, values), _or(x[1], bad if bad.any() else None)


def clamp_unsigned(x: Pair) -> Pair:
    """CAST(DECIMAL AS UNSIGNED): clamped to 0 .. 2^64 - 1."""
    values = exact(x[0])
    return np.where(values < 0, 0, np.where(values > _U64, _U64, values)), x[1]


def to_unsigned(x: Pair) -> Pair:
    """CAST(integer AS UNSIGNED): the two's-complement reading."""
    return _unsigned(x[0]), x[1]


_FLOAT_TO_INT = {  # mode: (rounding, lowest, highest), as MariaDB converts a double in each place
    "signed": (np.rint, INT64_MIN, INT64_MAX),  # CAST(... AS SIGNED)
    "unsigned": (np.rint, 0, _U64),  # CAST(... AS UNSIGNED)
    "bits": (lambda v: np.trunc(v + np.copysign(0.5, v)), INT64_MIN, _U64),  # bitwise operands
}


def float_to_int(x: Pair, mode: str) -> Pair:
    """A double as an exact integer: rounded and clamped as MariaDB does for `mode`."""
    rounding, lowest, highest = _FLOAT_TO_INT[mode]
    values = np.asarray(x[0], dtype=np.float64)
    finite = np.isfinite(values)
    rounded = np.where(finite, rounding(np.where(finite, values, 0.0)), 0.0)
    ints = np.asarray([min(max(int(v), lowest), highest) for v in rounded.reshape(-1)], dtype=object)
    return ints.reshape(values.shape), _or(x[1], ~finite if not finite.all() else None)


def int_to_str(x: Pair) -> Pair:
    """CAST(integer AS CHAR)."""
    values = np.asarray(x[0])
    out = np.empty(values.shape, dtype=object)
    out.reshape(-1)[:] = [str(int(v)) for v in values.reshape(-1)]
    return out, x[1]


# Helpers by name, with how many of their arguments are values (the rest are the compiler's parameters).
ARITIES: dict[str, int] = {
    "dec_from_int": 1, "dec_to_float": 1, "dec_from_float": 1, "dec_round": 1, "dec_truncate": 1,
    "dec_floor": 1, "dec_ceil": 1, "dec_rescale": 1, "dec_add": 2, "dec_sub": 2, "dec_mul": 2, "dec_neg": 1,
    "dec_abs": 1, "dec_div": 2, "dec_intdiv": 2, "dec_mod": 2, "bit_and": 2, "bit_or": 2, "bit_xor": 2,
    "bit_not": 1, "shift_left": 2, "shift_right": 2, "bit_count": 1, "to_unsigned": 1, "float_to_int": 1, "int_to_str": 1, "unsigned_range": 1, "clamp_unsigned": 1,
}
HELPERS = {name: globals()[name] for name in ARITIES}
