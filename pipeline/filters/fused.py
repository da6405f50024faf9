"""Many filters' WHERE clauses evaluated together: one numpy comparison per (column, operator).

Most Lasair filters are a monotone AND/OR tree of `column op constant`. At WHERE level the
analyser has made that tree `and_true`/`or_true` (`ir.null_is_false`), which read only each
leaf's truth value, False where the leaf is NULL: replacing a NULL leaf by FALSE gives the
outcome exactly. So the leaves of ALL such filters are computed at once, the thresholds of
one (column, operator) broadcast against the column in one call into a (leaves x alerts)
matrix, and each filter is its leaves in disjunctive normal form: AND over each term's
leaves, then OR over each filter's terms, a few whole-matrix operations for all filters
(terms and filters are grouped by length: `_buckets`).

Exactness: a leaf is computed as the generated vector code computes it (`vector_ops.inline`):
the same numpy comparison on the same dtypes (int64 column with an int64 threshold, float64
with float64, `to_float` of an integer column as `vector_ops.to_float` makes it), masked by
the column's NULLs where that code masks (integers; `!=` on doubles), since NaN under a NULL
double compares False otherwise. Anything else (other functions, strings, mjdnow(), column
against column, DNFs too large) is not fused: `FusedWheres.keys` says which filters are, and
the others stay on their generated per-filter code.
"""
from __future__ import annotations

import operator
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import numpy as np

from . import vector_ops
from .batch import ColumnBatch
from .ir import BOOL, FLOAT, INT, INT64_MAX, INT64_MIN, Col, Const, Node, Op

K = TypeVar("K", bound=Hashable)

MAX_TERMS = 16  # DNF terms per filter; a filter beyond stays on its own generated code
MAX_TERM_LEAVES = 32  # leaves per DNF term
MAX_IN_ITEMS = 32  # `x IN (...)` becomes one `=` leaf per item up to this many

_UFUNCS = {"eq": np.equal, "ne": np.not_equal, "lt": np.less, "le": np.less_equal, "gt": np.greater, "ge": np.greater_equal}
_FLIPPED = {"eq": "eq", "ne": "ne", "lt": "gt", "le": "ge", "gt": "lt", "ge": "le"}
_DTYPES = {INT: np.dtype(np.int64), FLOAT: np.dtype(np.float64)}


@dataclass(frozen=True)
class _Leaf:
    """`operand op threshold`, the operand a column (read as a double when `as_float`), compared as `type_`."""

    column: str
    as_float: bool
    type_: str
    op: str
    threshold: int | float


Term = frozenset[_Leaf]  # the leaves ANDed; the empty term is TRUE


class _Unfusable(Exception):
    """A node outside the fused form: its filter keeps its generated code."""


def _operand(node: Node) -> tuple[str, bool, str]:
    """(column, as_float, type compared) of a plain numeric column or `to_float` of an integer one."""
    if isinstance(node, Col) and not node.folded and node.type in _DTYPES:
        return node.name, False, node.type
    if (isinstance(node, Op) and node.helper == "to_float" and len(node.args) == 1 and isinstance(col := node.args[0], Col)
            and not col.folded and col.type == INT):
        return col.name, True, FLOAT
    raise _Unfusable


def _threshold(value: Any, type_: str) -> int | float:
    """The literal as the generated code's numpy scalar holds it, or refused."""
    if type_ == INT:
        if isinstance(value, float):
            raise _Unfusable
        number = operator.index(value)
        if not INT64_MIN <= number <= INT64_MAX:
            raise _Unfusable  # the generated code would fail on it and go row by row
        return number
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    raise _Unfusable


def _comparison(node: Op) -> list[Term]:
    a, b = node.args
    op = node.helper
    if isinstance(a, Const):
        a, b, op = b, a, _FLIPPED[op]  # `c < x` is `x > c`, NaN included
    if not isinstance(b, Const):
        raise _Unfusable
    column, as_float, type_ = _operand(a)
    if b.type != type_:
        raise _Unfusable
    if b.value is None:
        return []  # comparing with NULL: never true
    return [frozenset({_Leaf(column, as_float, type_, op, _threshold(b.value, type_))})]


def _in_list(node: Op) -> list[Term]:
    """`x IN (items)` is true exactly where x equals one item (a NULL item only makes misses NULL)."""
    column, as_float, type_ = _operand(node.args[0])
    items, _ = node.params
    if len(items) > MAX_IN_ITEMS:
        raise _Unfusable
    return [frozenset({_Leaf(column, as_float, type_, "eq", _threshold(item, type_))}) for item in items]


def _and(a: list[Term], b: list[Term]) -> list[Term]:
    if len(a) * len(b) > MAX_TERMS:
        raise _Unfusable
    terms = list(dict.fromkeys(x | y for x in a for y in b))
    if any(len(term) > MAX_TERM_LEAVES for term in terms):
        raise _Unfusable
    return terms


def _or(a: list[Term], b: list[Term]) -> list[Term]:
    terms = list(dict.fromkeys(a + b))
    if len(terms) > MAX_TERMS:
        raise _Unfusable
    return terms


def dnf(where: Node) -> list[Term] | None:
    """The WHERE clause as OR of ANDs of leaves (exact under `and_true`/`or_true`), or None if not fusable."""
    try:
        return _dnf(where)
    except _Unfusable:
        return None


def _dnf(node: Node) -> list[Term]:
    if isinstance(node, Const) and node.type == BOOL:
        return [frozenset()] if node.value else []  # NULL is FALSE at WHERE level
    if not isinstance(node, Op):
        raise _Unfusable
    if node.helper in ("and_true", "or_true"):
        a, b = (_dnf(arg) for arg in node.args)
        return _and(a, b) if node.helper == "and_true" else _or(a, b)
    if node.helper in _UFUNCS and len(node.args) == 2:
        return _comparison(node)
    if node.helper == "in_consts":
        return _in_list(node)
    raise _Unfusable


@dataclass(frozen=True)
class _Group:
    """The leaves of one operand and operator: rows `start:stop` of the leaf matrix."""

    operand: tuple[str, bool, str]  # column, as_float, type compared
    op: str
    thresholds: np.ndarray  # as a column vector, to broadcast against the alerts
    start: int
    stop: int


class FusedWheres(Generic[K]):
    """The fusable WHERE clauses of many filters, evaluated together; `keys` are those fused."""

    def __init__(self, wheres: Mapping[K, Node | None]) -> None:
        forms = {key: terms for key, where in wheres.items() if where is not None and (terms := dnf(where)) is not None}
        self.keys: tuple[K, ...] = tuple(forms)
        leaves = sorted({leaf for terms in forms.values() for term in terms for leaf in term},
                        key=lambda leaf: (leaf.column, leaf.as_float, leaf.type_, leaf.op, leaf.threshold))
        self._groups = _groups(leaves)
        # The leaf matrix has one row per distinct leaf and a last row TRUE (the empty term);
        # the term matrix one row per distinct term and a last row FALSE (a filter without terms).
        row = {leaf: i for i, leaf in enumerate(leaves)}
        self._leaves = len(leaves)
        terms = list(dict.fromkeys(term for terms in forms.values() for term in terms))
        self._terms = len(terms)
        self._term_buckets, term_order = _buckets([[row[leaf] for leaf in term] or [self._leaves] for term in terms])
        position = {terms[i]: p for p, i in enumerate(term_order)}
        self._filter_buckets, filter_order = _buckets([[position[t] for t in forms[key]] or [self._terms]
                                                       for key in self.keys])
        self._order = [self.keys[i] for i in filter_order]  # the key of each row of the results
        # operand (column, as_float, type compared) -> the dtype the batch must hold the column in
        self._operands = {g.operand: _DTYPES[INT] if g.operand[1] else _DTYPES[g.operand[2]] for g in self._groups}

    def masks(self, batch: ColumnBatch) -> dict[K, np.ndarray] | None:
        """Fused key -> bool per row of `batch`; None when a column is not held in the dtype
        of its type (int64 or float64), for the caller to use the generated code instead.
        The caller holds numpy's error state, as for `CompiledFilter.mask`."""
        if not self.keys:
            return {}
        operands = {}
        for operand, dtype in self._operands.items():
            values, nulls = batch.pairs[operand[0]]
            if values.dtype != dtype:
                return None
            if operand[1]:
                values, nulls = vector_ops.to_float((values, nulls))
            operands[operand] = values, (None if nulls is None else ~nulls)
        leaves = np.empty((self._leaves + 1, len(batch)), dtype=bool)
        for g in self._groups:
            values, valid = operands[g.operand]
            out = leaves[g.start:g.stop]
            _UFUNCS[g.op](values, g.thresholds, out=out)
            if valid is not None and (values.dtype != np.float64 or g.op == "ne"):
                out &= valid  # NaN (a NULL double) already compared False, except with !=
        leaves[self._leaves] = True
        terms = _combine(leaves, self._term_buckets, np.logical_and, self._terms + 1)
        terms[self._terms] = False
        return dict(zip(self._order, _combine(terms, self._filter_buckets, np.logical_or, len(self._order))))


@dataclass(frozen=True)
class _Bucket:
    """Segments of one length k: `index[j]` is the j-th row of each; they give output rows start:stop."""

    index: np.ndarray  # (k, segments)
    start: int
    stop: int


def _buckets(segments: Sequence[Sequence[int]]) -> tuple[list[_Bucket], list[int]]:
    """Segments (non-empty lists of row numbers) grouped by length, so that each group reduces with
    k - 1 whole-matrix operations (numpy's reduceat over rows is far slower); and the segment
    that each output row is."""
    by_length: dict[int, list[int]] = {}
    for i, segment in enumerate(segments):
        by_length.setdefault(len(segment), []).append(i)
    buckets, order = [], []
    for length, members in sorted(by_length.items()):
        index = np.array([segments[i] for i in members], dtype=np.intp).reshape(len(members), length)
        buckets.append(_Bucket(np.ascontiguousarray(index.T), len(order), len(order) + len(members)))
        order.extend(members)
    return buckets, order


def _combine(rows: np.ndarray, buckets: list[_Bucket], ufunc: np.ufunc, n_out: int) -> np.ndarray:
    """Output row i = ufunc over the rows of the i-th segment (in bucket order)."""
    out = np.empty((n_out, rows.shape[1]), dtype=bool)
    for bucket in buckets:
        target = out[bucket.start:bucket.stop]
        np.take(rows, bucket.index[0], axis=0, out=target)
        for more in bucket.index[1:]:
            ufunc(target, rows[more], out=target)
    return out


def _groups(leaves: Sequence[_Leaf]) -> list[_Group]:
    """Consecutive leaves (sorted) of one operand and operator make one group."""
    groups: list[_Group] = []
    start = 0
    for i in range(1, len(leaves) + 1):
        first = leaves[start]
        if i == len(leaves) or (leaves[i].column, leaves[i].as_float, leaves[i].type_, leaves[i].op) != (
                first.column, first.as_float, first.type_, first.op):
            thresholds = np.array([leaf.threshold for leaf in leaves[start:i]], dtype=_DTYPES[first.type_])[:, None]
            groups.append(_Group((first.column, first.as_float, first.type_), first.op, thresholds, start, i))
            start = i
    return groups
