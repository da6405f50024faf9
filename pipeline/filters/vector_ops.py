"""The vectorised runtime: the same helpers as `row_ops`, over numpy columns with NULL masks.

Every value is a pair (values, mask): values an array (or a numpy scalar for literals),
mask a boolean array that is True where the value is NULL, or None when nothing is NULL,
which keeps the common no-NULL case to one numpy operation per SQL operator. Two
invariants keep the common comparisons to a single numpy operation: booleans are False
wherever they are NULL (so "is true" is just the values array), and doubles are NaN
wherever they are NULL (so =, <, <=, >, >= on doubles are already False there).
Rare operations (ROUND of a BIGINT to negative digits, LIKE with a non-literal pattern)
apply the per-row helper element by element, which keeps them identical by construction.
"""
from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import collation, exact, json_ops, kernels, row_ops
from .batch import ColumnBatch
from .ir import BOOL, COMPARISON_SYMBOLS, FLOAT, INT, INT64_MIN, STR, Col, Const, Node, Op, is_dec

Mask = Any  # np.ndarray[bool] | np.bool_ | None
Pair = tuple[Any, Mask]

_TRUE, _FALSE = np.True_, np.False_
_DOUBLE = np.dtype(np.float64)


def _or(a: Mask, b: Mask) -> Mask:
    return b if a is None else a if b is None else a | b


def _mask(mask: Mask) -> Any:
    return _FALSE if mask is None else mask


def _bools(values: Any, mask: Mask) -> Pair:
    """Keep the invariant: a boolean is False wherever it is NULL."""
    return (values if mask is None else values & ~mask), mask


def _real(values: Any, mask: Mask) -> Pair:
    """A double result: non-finite is NULL (overflow, domain error) and NULL is NaN."""
    mask = _or(mask, ~np.isfinite(values))
    return np.where(mask, np.nan, values), mask


def _cast(values: Any, dtype: type) -> Any:
    return values.astype(dtype) if isinstance(values, np.ndarray) else dtype(values)


def _objects(values: Any) -> Any:
    """np.where on two str literals makes a fixed-width str array; strings stay objects here."""
    return values.astype(object) if isinstance(values, np.ndarray) and values.dtype.kind == "U" else values


def _each(fn: Callable[[Any], Any], values: Any, dtype: type) -> Any:
    if np.ndim(values) == 0:
        return np.array(fn(values.item() if isinstance(values, np.ndarray) else values), dtype=dtype)
    return np.fromiter(map(fn, values), dtype=dtype, count=len(values))


def _load(batch: ColumnBatch, name: str) -> Pair:
    return batch.pairs[name]


load_int = load_float = load_str = _load


def load_folded(batch: ColumnBatch, name: str) -> Pair:
    return batch.folded(name)


def now_value(now: float) -> Pair:
    return np.float64(now), None


def to_float(x: Pair) -> Pair:
    values, mask = _cast(x[0], np.float64), x[1]
    return (values if mask is None else np.where(mask, np.nan, values)), mask


def to_int(x: Pair) -> Pair:
    return _cast(x[0], np.int64), x[1]


def truth(x: Pair) -> Pair:
    return _bools(x[0] != 0, x[1])


def fold(x: Pair) -> Pair:
    return _each(collation.sort_key, x[0], object), x[1]


def fold_chars(x: Pair) -> Pair:
    return _each(collation.fold_chars, x[0], object), x[1]


def and_true(a: Pair, b: Pair) -> Pair:
    """AND where NULL and FALSE mean the same (under WHERE): only the truth values matter."""
    return a[0] & b[0], None


def or_true(a: Pair, b: Pair) -> Pair:
    return a[0] | b[0], None


def and_(a: Pair, b: Pair) -> Pair:
    (av, am), (bv, bm) = a, b
    values = av & bv
    if am is None and bm is None:
        return values, None
    # NULL unless either side is definitely false; "not false" is value-or-NULL.
    not_false_a = av if am is None else av | am
    not_false_b = bv if bm is None else bv | bm
    return values, _or(am, bm) & not_false_a & not_false_b


def or_(a: Pair, b: Pair) -> Pair:
    (av, am), (bv, bm) = a, b
    values = av | bv
    mask = _or(am, bm)
    return values, None if mask is None else mask & ~values


def xor_(a: Pair, b: Pair) -> Pair:
    return _bools(a[0] ^ b[0], _or(a[1], b[1]))


def not_(x: Pair) -> Pair:
    values, mask = x
    return (~values if mask is None else ~(values | mask)), mask


def is_null(x: Pair) -> Pair:
    mask = x[1]
    return (_FALSE if mask is None else mask.copy() if isinstance(mask, np.ndarray) else mask), None


def _compare(op: Callable[[Any, Any], Any], false_on_nan: bool = True) -> Callable[[Pair, Pair], Pair]:
    # The hottest helper of all: written out rather than composed from the small ones.
    def compare(a: Pair, b: Pair) -> Pair:
        (av, am), (bv, bm) = a, b
        values = op(av, bv)
        if type(values) is bool:
            values = np.bool_(values)  # two str literals compare as a Python bool
        mask = bm if am is None else am if bm is None else am | bm
        if mask is None or (false_on_nan and getattr(av, "dtype", None) is _DOUBLE):
            return values, mask  # operands were unified, so both are doubles: NaN compared False
        return values & ~mask, mask
    return compare


eq, ne = _compare(operator.eq), _compare(operator.ne, false_on_nan=False)
lt, le, gt, ge = _compare(operator.lt), _compare(operator.le), _compare(operator.gt), _compare(operator.ge)


def null_safe_eq(a: Pair, b: Pair) -> Pair:
    values, _ = eq((a[0], None), (b[0], None))
    if a[1] is None and b[1] is None:
        return values, None
    am, bm = _mask(a[1]), _mask(b[1])
    return (values & ~am & ~bm) | (am & bm), None


def add_int(a: Pair, b: Pair) -> Pair:
    r = a[0] + b[0]
    return r, _or(_or(a[1], b[1]), ((a[0] ^ r) & (b[0] ^ r)) < 0)  # sign flip = overflow


def sub_int(a: Pair, b: Pair) -> Pair:
    r = a[0] - b[0]
    return r, _or(_or(a[1], b[1]), ((a[0] ^ b[0]) & (a[0] ^ r)) < 0)


def mul_int(a: Pair, b: Pair) -> Pair:
    av, bv = a[0], b[0]
    r = av * bv
    # Without overflow the wrapped product divides back exactly; MIN * -1 is the one
    # overflow whose quotient also wraps back, so it is tested apart.
    overflow = (((r // np.where(bv == 0, 1, bv)) != av) & (bv != 0)) | ((av == INT64_MIN) & (bv == -1))
    return r, _or(_or(a[1], b[1]), overflow)


def add_float(a: Pair, b: Pair) -> Pair:
    return _real(a[0] + b[0], _or(a[1], b[1]))


def sub_float(a: Pair, b: Pair) -> Pair:
    return _real(a[0] - b[0], _or(a[1], b[1]))


def mul_float(a: Pair, b: Pair) -> Pair:
    return _real(a[0] * b[0], _or(a[1], b[1]))


def div(a: Pair, b: Pair) -> Pair:
    return _real(a[0] / b[0], _or(a[1], b[1]))  # x/0 is inf or NaN, hence NULL


def intdiv_int(a: Pair, b: Pair) -> Pair:
    av, bv = a[0], b[0]
    zero = bv == 0
    divisor = np.where(zero, 1, bv)
    q = av // divisor
    q = q + ((av % divisor != 0) & ((av < 0) != (divisor < 0)))  # floor to truncation
    bad = zero | ((av == INT64_MIN) & (divisor == -1))
    return q, _or(_or(a[1], b[1]), bad)


def intdiv_float(a: Pair, b: Pair) -> Pair:
    q = np.trunc(a[0] / b[0])
    ok = np.isfinite(q) & (q >= -(2.0**63)) & (q < 2.0**63)
    return np.where(ok, q, 0.0).astype(np.int64), _or(_or(a[1], b[1]), ~ok)


def mod_int(a: Pair, b: Pair) -> Pair:
    zero = b[0] == 0
    return np.fmod(a[0], np.where(zero, 1, b[0])), _or(_or(a[1], b[1]), zero)


def mod_float(a: Pair, b: Pair) -> Pair:
    return _real(np.fmod(a[0], b[0]), _or(a[1], b[1]))


def neg_int(x: Pair) -> Pair:
    return -x[0], _or(x[1], x[0] == INT64_MIN)


def neg_float(x: Pair) -> Pair:
    return -x[0], x[1]


def abs_int(x: Pair) -> Pair:
    return np.abs(x[0]), _or(x[1], x[0] == INT64_MIN)


def abs_float(x: Pair) -> Pair:
    return np.abs(x[0]), x[1]


def sign(x: Pair) -> Pair:
    return np.sign(x[0]).astype(np.int64), x[1]


def math1(x: Pair, fn: np.ufunc) -> Pair:
    return _real(fn(x[0]), x[1])


def math2(a: Pair, b: Pair, fn: np.ufunc) -> Pair:
    return _real(fn(a[0], b[0]), _or(a[1], b[1]))


def log_base(base: Pair, x: Pair) -> Pair:
    bad = (base[0] <= 0) | (base[0] == 1) | (x[0] <= 0)
    return _real(np.log(x[0]) / np.log(base[0]), _or(_or(base[1], x[1]), bad))


def round_float(x: Pair, digits: int, truncate: bool) -> Pair:
    return _real(kernels.round_float(x[0], digits, truncate), x[1])


def _extreme(ufunc: np.ufunc) -> Callable[..., Pair]:
    def extreme(*xs: Pair) -> Pair:
        return functools.reduce(ufunc, [v for v, _ in xs]), functools.reduce(_or, [m for _, m in xs])
    return extreme


greatest = _extreme(np.maximum)
least = _extreme(np.minimum)


def case(*args: Pair) -> Pair:
    """case(cond1, value1, ..., default): later branches first, so earlier ones win."""
    values, mask = args[-1]
    for i in range(len(args) - 3, -1, -2):
        cond = args[i][0]
        branch_values, branch_mask = args[i + 1]
        values = _objects(np.where(cond, branch_values, values))
        if mask is not None or branch_mask is not None:
            mask = np.where(cond, _mask(branch_mask), _mask(mask))
    return values, mask


def coalesce(*xs: Pair) -> Pair:
    values, mask = xs[-1]
    for x_values, x_mask in reversed(xs[:-1]):
        if x_mask is None:
            values, mask = x_values, None
        else:
            values, mask = _objects(np.where(x_mask, values, x_values)), x_mask & _mask(mask)
    return values, mask


@functools.lru_cache(maxsize=1024)
def _item_array(items: frozenset[Any]) -> np.ndarray:
    values = list(items)
    if not (values and isinstance(values[0], str)):
        return np.array(values)
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


def in_consts(x: Pair, items: frozenset[Any], has_null: bool) -> Pair:
    hit = np.isin(x[0], _item_array(items))
    mask = _or(x[1], ~hit) if has_null else x[1]
    return _bools(hit, mask)


def like(x: Pair, pattern: kernels.LikePattern) -> Pair:
    return _bools(_each(pattern.matches, x[0], bool), x[1])


def _elementwise(fn: Callable[..., Any], n_args: int) -> Callable[..., Pair]:
    """Apply a per-row helper to each element: for operations too rare to vectorise."""
    def apply(*args: Any) -> Pair:
        pairs, params = args[:n_args], args[n_args:]
        n = max([np.size(part) for pair in pairs for part in pair if part is not None] + [1])
        columns = []
        for values, mask in pairs:
            items = np.broadcast_to(values, (n,)).tolist()
            if mask is not None:
                items = [None if null else v for v, null in zip(items, np.broadcast_to(mask, (n,)).tolist())]
            columns.append(items)
        return _from_python([fn(*row, *params) for row in zip(*columns)])
    return apply


def _from_python(results: Sequence[Any]) -> Pair:
    nulls = np.fromiter((r is None for r in results), dtype=bool, count=len(results))
    sample = next((r for r in results if r is not None), 0)
    dtype, fill = ((bool, False) if isinstance(sample, bool) else (np.int64, 0) if isinstance(sample, int)
                   else (np.float64, np.nan) if isinstance(sample, float) else (object, ""))
    values = np.empty(len(results), dtype=dtype)
    values[:] = [fill if r is None else r for r in results]
    return values, nulls


round_int = _elementwise(row_ops.round_int, 1)
like_dyn = _elementwise(row_ops.like_dyn, 2)

_SCALARS: dict[str, Callable[[Any], Any]] = {BOOL: np.bool_, INT: np.int64, FLOAT: np.float64, STR: str}
_NULL_FILL: dict[str, Any] = {BOOL: False, INT: 0, FLOAT: np.nan, STR: ""}


def wrap_const(value: Any, type_: str) -> Pair:
    """Literals become numpy scalars so that arithmetic on them wraps and warns like arrays."""
    if is_dec(type_):  # int64 when small (see `exact`), else a Python int in a 0-d object array
        number = 0 if value is None else value
        return (np.int64(number) if abs(number) < 2**62 else np.array(number, dtype=object)), (_TRUE if value is None else None)
    if value is None:
        return _SCALARS[type_](_NULL_FILL[type_]), _TRUE
    return _SCALARS[type_](value), None


_INLINE_LOGIC = {"and_true": "&", "or_true": "|"}


def inline(node: Node, refs: list[str]) -> str | None:
    """In-place code for the operations that make up most filters, saving a call each.

    Same meaning as the helpers: a comparison with a non-NULL literal is NULL where the
    other side is, and made False there (doubles already are, NaN comparing False, except
    for !=); the WHERE-level AND/OR read truth values only. `refs` are generated names
    (t*, k*, src), never user text.
    """
    if isinstance(node, Col) and not node.folded:
        return f"{refs[0]}.pairs[{refs[1]}]"
    if not isinstance(node, Op):
        return None
    if node.helper in _INLINE_LOGIC:
        return f"({refs[0]}[0] {_INLINE_LOGIC[node.helper]} {refs[1]}[0], None)"
    literal = [isinstance(arg, Const) and arg.value is not None for arg in node.args]
    if node.helper in COMPARISON_SYMBOLS and literal in ([True, False], [False, True]):
        compare = f"({refs[0]}[0] {COMPARISON_SYMBOLS[node.helper]} {refs[1]}[0])"
        mask = f"{refs[1] if literal[0] else refs[0]}[1]"
        if node.args[0].type == FLOAT and node.helper != "ne":
            return f"({compare}, {mask})"
        return f"({compare} if {mask} is None else {compare} & ~{mask}, {mask})"
    return None


def to_mask(result: Pair, length: int) -> np.ndarray:
    """A filter's boolean result as one flag per row (True = matched), never a batch's own array."""
    values = result[0]
    if type(values) is np.ndarray and values.base is None and values.shape == (length,):
        return values  # made by the last operation, so nothing else holds it
    return np.array(np.broadcast_to(values, (length,)), dtype=bool)  # a copy, full length


# Every public function defined here (and every `exact` helper) is callable from generated code, by its name.
HELPERS: dict[str, Callable[..., Any]] = {
    name: obj for name, obj in list(globals().items())
    if callable(obj) and not name.startswith("_") and name not in ("wrap_const", "to_mask", "inline")
    and getattr(obj, "__module__", None) == __name__
} | exact.HELPERS | json_ops.VECTOR_HELPERS  # MariaDB's exact arithmetic; JSON_EXTRACT and JSON_UNQUOTE
