"""Many filters' WHERE clauses evaluated together: one numpy comparison per (operand, operator).

Most Lasair filters are a monotone AND/OR tree of `operand op constant`, the operand a column
or an expression such as `mjdnow() - objects.lastDiaSourceMjdTai`, the constant a literal or an
expression the same for every alert of a batch, such as `mjdnow() - 7`. At WHERE level the
analyser has made that tree `and_true`/`or_true` (`ir.null_is_false`), which read only each
leaf's truth value, False where the leaf is NULL: replacing a NULL leaf by FALSE gives the
outcome exactly. So the leaves of ALL such filters are computed at once: each distinct
operand once per batch, the thresholds of one (operand, operator) broadcast against it in one
call into a (leaves x alerts) matrix. Each filter is its leaves in disjunctive normal form:
AND over each term's leaves, then OR over each filter's terms, a few whole-matrix operations
for all filters (terms and filters grouped by length: `_buckets`).

Exactness: a leaf is computed as the generated vector code computes it (`vector_ops.inline`,
`_compare`, `in_consts`): an operand or threshold other than a column or literal is that code
(`codegen.generate` over `vector_ops`), compared by the same numpy operation on the same dtypes
(int64 with int64, float64 with float64), masked by the operand's and threshold's NULLs where
that code masks (integers, `!=`, IN), since a NULL double is NaN, which compares False. An
operand or threshold that fails or is not of its type's dtype (or a threshold that is not one
value for the batch) leaves its filters to their own code for that batch (as do
strings, NOT, column against column, DECIMAL comparisons and DNFs over the caps, always):
`FusedWheres.masks` answers only for the filters it computed.
"""
from __future__ import annotations

import operator
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import numpy as np

from . import vector_ops
from .batch import ColumnBatch
from .codegen import generate
from .ir import BOOL, FLOAT, INT, INT64_MAX, INT64_MIN, Col, Const, Node, Op, columns_of

K = TypeVar("K", bound=Hashable)

MAX_TERMS = 16  # DNF terms per filter; a filter beyond stays on its own generated code
MAX_TERM_LEAVES = 32  # leaves per DNF term
MAX_IN_ITEMS = 32  # `x IN (...)` becomes one leaf per item up to this many

# "in" is `=` masked by the operand's NULLs whatever its type, as `in_consts` masks.
_UFUNCS = {"eq": np.equal, "ne": np.not_equal, "lt": np.less, "le": np.less_equal, "gt": np.greater, "ge": np.greater_equal,
           "in": np.equal}
_FLIPPED = {"eq": "eq", "ne": "ne", "lt": "gt", "le": "ge", "gt": "lt", "ge": "le"}
_DTYPES = {INT: np.dtype(np.int64), FLOAT: np.dtype(np.float64)}


@dataclass(frozen=True)
class _Leaf:
    """`operand op threshold`; the operand's IR type (INT or FLOAT) is the threshold's, which is
    a literal's value or a column-free expression computed per batch."""

    operand: Node
    op: str
    threshold: int | float | Node


Term = frozenset[_Leaf]  # the leaves ANDed; the empty term is TRUE


class _Unfusable(Exception):
    """A node outside the fused form: its filter keeps its generated code."""


def _operand(node: Node) -> Node:
    """A numeric operand: not a literal, of type BIGINT or DOUBLE (not DECIMAL, string or truth value)."""
    if isinstance(node, Const) or node.type not in _DTYPES or (isinstance(node, Col) and node.folded):
        raise _Unfusable
    return node


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


def _column_free(node: Node) -> bool:
    """A literal, or an expression the same for every alert of a batch (`mjdnow() - 7`)."""
    return isinstance(node, Const) or (node.type in _DTYPES and not columns_of(node))


def _comparison(node: Op) -> list[Term]:
    a, b = node.args
    op = node.helper
    if isinstance(a, Const) or (_column_free(a) and not _column_free(b)):
        a, b, op = b, a, _FLIPPED[op]  # `c < x` is `x > c`, NaN included
    if not _column_free(b) or b.type != a.type:
        raise _Unfusable
    operand = _operand(a)
    if not isinstance(b, Const):
        return [frozenset({_Leaf(operand, op, b)})]  # a threshold computed per batch
    if b.value is None:
        return []  # comparing with NULL: never true
    return [frozenset({_Leaf(operand, op, _threshold(b.value, operand.type))})]


def _in_list(node: Op) -> list[Term]:
    """`x IN (items)` is true exactly where x equals one item (a NULL item only makes misses NULL)."""
    operand = _operand(node.args[0])
    items, _ = node.params
    if len(items) > MAX_IN_ITEMS:
        raise _Unfusable
    return [frozenset({_Leaf(operand, "in", _threshold(item, operand.type))}) for item in items]


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
    if node.helper in _FLIPPED and len(node.args) == 2:
        return _comparison(node)
    if node.helper == "in_consts":
        return _in_list(node)
    raise _Unfusable


Pair = tuple[Any, Any]  # values and NULL mask, as `vector_ops` has them


class _Computed:
    """An operand or a per-batch threshold, computed once per batch: a column read as it is,
    anything else by its generated vector code."""

    def __init__(self, node: Node) -> None:
        self.dtype = _DTYPES[node.type]
        self.column = node.name if isinstance(node, Col) else None
        self._function: Callable[[Any, Any], tuple[Any, ...]] | None = (
            None if isinstance(node, Col) else generate([node], vector_ops, "operand").function)

    def evaluate(self, batch: ColumnBatch, now: float) -> Pair | None:
        """(values, mask), one each per alert or one for all, or None if the generated code
        failed or gave another dtype: the filters reading it then run their own code."""
        if self._function is None:
            values, nulls = batch.pairs[self.column]
        else:
            try:
                values, nulls = self._function(batch, now)[0]
            except Exception:
                return None
        shapes = ((), (len(batch),))
        if not (getattr(values, "dtype", None) == self.dtype and np.shape(values) in shapes
                and (nulls is None or np.shape(nulls) in shapes)):
            return None
        return values, nulls


@dataclass(frozen=True)
class _Group:
    """The leaves of one operand and operator: rows `start:stop` of the leaf matrix."""

    operand: int  # in the computed values
    op: str
    masked: bool  # False where the operand or threshold is NULL (else NaN compared False already)
    thresholds: np.ndarray | tuple[int, ...]  # literals as a column vector, or computed values' numbers
    start: int
    stop: int
    users: frozenset[Any]  # the filters reading these leaves


class FusedWheres(Generic[K]):
    """The fusable WHERE clauses of many filters, evaluated together; `keys` are those fused."""

    def __init__(self, wheres: Mapping[K, Node | None]) -> None:
        forms = {key: terms for key, where in wheres.items() if where is not None and (terms := dnf(where)) is not None}
        self.keys: tuple[K, ...] = tuple(forms)
        # (operand, operator, thresholds computed per batch) -> threshold -> the filters reading that leaf
        by_group: dict[tuple[Node, str, bool], dict[int | float | Node, set[K]]] = {}
        for key, terms in forms.items():
            for leaf in (leaf for term in terms for leaf in term):
                group = (leaf.operand, leaf.op, not isinstance(leaf.threshold, (int, float)))
                by_group.setdefault(group, {}).setdefault(leaf.threshold, set()).add(key)
        nodes = list(dict.fromkeys([operand for operand, _, _ in by_group] + [
            t for (_, _, computed), thresholds in by_group.items() if computed for t in thresholds]))
        number = {node: i for i, node in enumerate(nodes)}
        self._computed = [_Computed(node) for node in nodes]
        # The leaf matrix has one row per distinct leaf and a last row TRUE (the empty term);
        # the term matrix one row per distinct term and a last row FALSE (a filter without terms).
        row: dict[_Leaf, int] = {}
        self._groups: list[_Group] = []
        for (node, op, computed), by_threshold in by_group.items():
            ordered = list(by_threshold) if computed else sorted(by_threshold)
            start = len(row)
            row.update({_Leaf(node, op, t): start + i for i, t in enumerate(ordered)})
            thresholds = (tuple(number[t] for t in ordered) if computed
                          else np.array(ordered, dtype=_DTYPES[node.type])[:, None])
            masked = node.type != FLOAT or op in ("ne", "in")
            self._groups.append(_Group(number[node], op, masked, thresholds, start, len(row),
                                       frozenset().union(*by_threshold.values())))
        self._leaves = len(row)
        terms = list(dict.fromkeys(term for terms in forms.values() for term in terms))
        self._terms = len(terms)
        self._term_buckets, term_order = _buckets([[row[leaf] for leaf in term] or [self._leaves] for term in terms])
        position = {terms[i]: p for p, i in enumerate(term_order)}
        self._filter_buckets, filter_order = _buckets([[position[t] for t in forms[key]] or [self._terms]
                                                       for key in self.keys])
        self._order = [self.keys[i] for i in filter_order]  # the key of each row of the results

    def masks(self, batch: ColumnBatch, now: float) -> dict[K, np.ndarray]:
        """Fused key -> bool per row of `batch`, for the fused filters whose operands and thresholds
        all computed (`now` is mjdnow()). The caller holds numpy's error state, as for `CompiledFilter.mask`."""
        if not self.keys:
            return {}
        n = len(batch)
        computed = [c.evaluate(batch, now) for c in self._computed]
        operands: dict[int, Pair] = {}  # values and where not NULL (None: everywhere), one per alert
        leaves = np.empty((self._leaves + 1, n), dtype=bool)
        failed: set[K] = set()
        for g in self._groups:
            out = leaves[g.start:g.stop]
            thresholds = (g.thresholds, None) if isinstance(g.thresholds, np.ndarray) else _per_batch(computed, g.thresholds)
            if computed[g.operand] is None or thresholds is None:
                out[:] = False
                failed |= g.users
                continue
            if g.operand not in operands:
                values, nulls = computed[g.operand]
                operands[g.operand] = _full(values, n), None if nulls is None else _full(~nulls, n)
            values, valid = operands[g.operand]
            _UFUNCS[g.op](values, thresholds[0], out=out)
            if g.masked and valid is not None:
                out &= valid
            if g.masked and thresholds[1] is not None:
                out[thresholds[1]] = False
        leaves[self._leaves] = True
        terms = _combine(leaves, self._term_buckets, np.logical_and, self._terms + 1)
        terms[self._terms] = False
        results = zip(self._order, _combine(terms, self._filter_buckets, np.logical_or, len(self._order)))
        return {key: mask for key, mask in results if key not in failed} if failed else dict(results)


def _per_batch(computed: list[Pair | None], numbers: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray | None] | None:
    """Thresholds computed for this batch: a column vector, and which are NULL (None: none);
    None if one failed or is not one value for all alerts."""
    pairs = [computed[i] for i in numbers]
    if any(pair is None or np.shape(pair[0]) != () or np.shape(pair[1]) != () for pair in pairs):
        return None
    column = np.array([pair[0] for pair in pairs])[:, None]
    nulls = np.array([pair[1] is not None and bool(pair[1]) for pair in pairs])
    return column, (nulls if nulls.any() else None)


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


def _full(array: Any, n: int) -> np.ndarray:
    """One value per alert: a scalar (an operand with no column, such as mjdnow()) repeated."""
    return array if np.shape(array) == (n,) else np.broadcast_to(array, (n,))
