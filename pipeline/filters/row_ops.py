"""The per-row runtime: SQL semantics on plain Python values, None being NULL.

This is the reference the vectorised runtime must agree with. Booleans are Python bools
(MySQL's 1/0), integers stay within BIGINT (anything outside is NULL instead of MySQL's
out-of-range error), and a double result that is not finite is NULL. Transcendental
functions call the same numpy ufuncs as the vectorised form (numpy's SIMD code can differ
from libm in the last bit), so both forms give bit-identical results.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from functools import reduce
from typing import Any

import numpy as np

from . import collation, exact, json_ops, kernels
from .batch import norm_float, norm_int, norm_str
from .collation import sort_key
from .ir import COMPARISON_SYMBOLS, INT64_MAX, INT64_MIN, Const, Node, Op

Value = Any  # bool | int | float | str | None


def _int(r: int) -> int | None:
    return r if INT64_MIN <= r <= INT64_MAX else None


def _real(r: float) -> float | None:
    return r if r - r == 0.0 else None  # false for inf and NaN


def load_float(row: Mapping[str, Any], name: str) -> float | None:
    value = row.get(name)
    if type(value) is float:
        return value if value - value == 0.0 else None
    return norm_float(value)


def load_int(row: Mapping[str, Any], name: str) -> int | None:
    return norm_int(row.get(name))


def load_str(row: Mapping[str, Any], name: str) -> str | None:
    return norm_str(row.get(name))


def load_folded(row: Mapping[str, Any], name: str) -> str | None:
    value = norm_str(row.get(name))
    return None if value is None else sort_key(value)


def now_value(now: float) -> float:
    return now


def to_float(x: Value) -> float | None:
    return None if x is None else float(x)


def to_int(x: Value) -> int | None:
    return None if x is None else int(x)


def truth(x: Value) -> bool | None:
    return None if x is None else x != 0


def fold(x: str | None) -> str | None:
    return None if x is None else sort_key(x)


def fold_chars(x: str | None) -> str | None:
    return None if x is None else collation.fold_chars(x)


def and_true(a: bool | None, b: bool | None) -> bool:
    """AND where NULL and FALSE mean the same (under WHERE): only truth matters."""
    return a is True and b is True


def or_true(a: bool | None, b: bool | None) -> bool:
    return a is True or b is True


def and_(a: bool | None, b: bool | None) -> bool | None:
    if a is False or b is False:
        return False
    return None if a is None or b is None else True


def or_(a: bool | None, b: bool | None) -> bool | None:
    if a is True or b is True:
        return True
    return None if a is None or b is None else False


def xor_(a: bool | None, b: bool | None) -> bool | None:
    return None if a is None or b is None else a != b


def not_(x: bool | None) -> bool | None:
    return None if x is None else not x


def is_null(x: Value) -> bool:
    return x is None


def eq(a: Value, b: Value) -> bool | None:
    return None if a is None or b is None else a == b


def ne(a: Value, b: Value) -> bool | None:
    return None if a is None or b is None else a != b


def lt(a: Value, b: Value) -> bool | None:
    return None if a is None or b is None else a < b


def le(a: Value, b: Value) -> bool | None:
    return None if a is None or b is None else a <= b


def gt(a: Value, b: Value) -> bool | None:
    return None if a is None or b is None else a > b


def ge(a: Value, b: Value) -> bool | None:
    return None if a is None or b is None else a >= b


def null_safe_eq(a: Value, b: Value) -> bool:
    return a is None and b is None if a is None or b is None else a == b


def add_int(a: int | None, b: int | None) -> int | None:
    return None if a is None or b is None else _int(a + b)


def sub_int(a: int | None, b: int | None) -> int | None:
    return None if a is None or b is None else _int(a - b)


def mul_int(a: int | None, b: int | None) -> int | None:
    return None if a is None or b is None else _int(a * b)


def add_float(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else _real(a + b)


def sub_float(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else _real(a - b)


def mul_float(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else _real(a * b)


def div(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else _real(a / b)


def intdiv_int(a: int | None, b: int | None) -> int | None:
    if a is None or b is None or b == 0:
        return None
    q = abs(a) // abs(b)
    return _int(q if (a < 0) == (b < 0) else -q)


def intdiv_float(a: float | None, b: float | None) -> int | None:
    if a is None or b is None or b == 0:
        return None
    q = a / b
    return _int(math.trunc(q)) if q - q == 0.0 else None


def mod_int(a: int | None, b: int | None) -> int | None:
    if a is None or b is None or b == 0:
        return None
    r = abs(a) % abs(b)
    return -r if a < 0 else r


def mod_float(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else math.fmod(a, b)


def neg_int(x: int | None) -> int | None:
    return None if x is None or x == INT64_MIN else -x


def neg_float(x: float | None) -> float | None:
    return None if x is None else -x


def abs_int(x: int | None) -> int | None:
    return None if x is None or x == INT64_MIN else abs(x)


def abs_float(x: float | None) -> float | None:
    return None if x is None else abs(x)


def sign(x: int | float | None) -> int | None:
    return None if x is None else (x > 0) - (x < 0)


def math1(x: float | None, fn: np.ufunc) -> float | None:
    if x is None:
        return None
    with np.errstate(all="ignore"):
        return _real(float(fn(x)))


def math2(a: float | None, b: float | None, fn: np.ufunc) -> float | None:
    if a is None or b is None:
        return None
    with np.errstate(all="ignore"):
        return _real(float(fn(a, b)))


def log_base(base: float | None, x: float | None) -> float | None:
    if base is None or x is None or base <= 0 or base == 1 or x <= 0:
        return None
    return _real(float(np.log(x)) / float(np.log(base)))


def round_float(x: float | None, digits: int, truncate: bool) -> float | None:
    if x is None:
        return None
    with np.errstate(all="ignore"):
        return _real(float(kernels.round_float(np.float64(x), digits, truncate)))


def round_int(x: int | None, digits: int, truncate: bool) -> int | None:
    return None if x is None else _int(kernels.round_int(x, digits, truncate))


def _extreme(ufunc: np.ufunc, exact: Callable[..., Any]) -> Callable[..., Value]:
    def extreme(*xs: Value) -> Value:
        if any(x is None for x in xs):
            return None  # MySQL: GREATEST/LEAST with any NULL argument is NULL
        if type(xs[0]) is int:  # integers and DECIMALs, exact at any size (as numpy's object arrays)
            return exact(xs)
        return reduce(ufunc, xs).item()
    return extreme


greatest = _extreme(np.maximum, max)
least = _extreme(np.minimum, min)


def case(*args: Value) -> Value:
    """case(cond1, value1, cond2, value2, ..., default)."""
    for i in range(0, len(args) - 1, 2):
        if args[i] is True:
            return args[i + 1]
    return args[-1]


def coalesce(*xs: Value) -> Value:
    return next((x for x in xs if x is not None), None)


def in_consts(x: Value, items: frozenset[Any], has_null: bool) -> bool | None:
    if x is None:
        return None
    if x in items:
        return True
    return None if has_null else False


def like(x: str | None, pattern: kernels.LikePattern) -> bool | None:
    return None if x is None else pattern.matches(x)


def like_dyn(x: str | None, pattern: str | None, escape: str | None) -> bool | None:
    return None if x is None or pattern is None else kernels.like_pattern(pattern, escape).matches(x)


def wrap_const(value: Any, type_: str) -> Any:
    return value


def _cell(value: Any) -> np.ndarray:
    """One value as the one-element column the vectorised runtime would hold (ints exact, as objects)."""
    if isinstance(value, (bool, float)):
        return np.array([value])
    return np.array([value], dtype=object)


def _python(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else int(value) if isinstance(value, int) else value


def lift(fn: Callable[..., Any], n_values: int) -> Callable[..., Any]:
    """A vectorised `exact` helper applied to one row: NULL in, NULL out; the same code, so the same result."""
    def row(*args: Any) -> Any:
        values, params = args[:n_values], args[n_values:]
        if any(v is None for v in values):
            return None
        result, mask = fn(*((_cell(v), None) for v in values), *params)
        if mask is not None and np.asarray(mask).reshape(-1)[0]:
            return None
        return _python(np.asarray(result).reshape(-1)[0])
    return row


_INLINE_LOGIC = {"and_true": "and", "or_true": "or"}


def inline(node: Node, refs: list[str]) -> str | None:
    """In-place code for the commonest operations (as in `vector_ops.inline`), saving calls."""
    if not isinstance(node, Op):
        return None
    if node.helper in _INLINE_LOGIC:
        return f"({refs[0]} is True {_INLINE_LOGIC[node.helper]} {refs[1]} is True)"
    literal = [isinstance(arg, Const) and arg.value is not None for arg in node.args]
    if node.helper in COMPARISON_SYMBOLS and literal in ([True, False], [False, True]):
        nullable = refs[1] if literal[0] else refs[0]
        return f"(None if {nullable} is None else {refs[0]} {COMPARISON_SYMBOLS[node.helper]} {refs[1]})"
    return None


# Every public function defined here is callable from generated code, by its name.
HELPERS: dict[str, Callable[..., Any]] = {
    name: obj for name, obj in list(globals().items())
    if callable(obj) and not name.startswith("_") and name not in ("wrap_const", "inline", "lift")
    and getattr(obj, "__module__", None) == __name__
}
HELPERS.update(json_ops.ROW_HELPERS)  # JSON_EXTRACT and JSON_UNQUOTE
HELPERS.update({name: lift(fn, exact.ARITIES[name]) for name, fn in exact.HELPERS.items()})
