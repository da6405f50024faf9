"""Many filters' WHERE clauses evaluated together: one numpy comparison per (operand, operator).

Most Lasair filters are a monotone AND/OR tree of `operand op constant`, the operand a column
or an expression such as `mjdnow() - objects.lastDiaSourceMjdTai`. At WHERE level the
analyser has made that tree `and_true`/`or_true` (`ir.null_is_false`), which read only each
leaf's truth value, False where the leaf is NULL: replacing a NULL leaf by FALSE gives the
outcome exactly. So the leaves of ALL such filters are computed at once: each distinct
operand once per batch, the thresholds of one (operand, operator) broadcast against it in one
call into a (leaves x alerts) matrix. Each filter is its leaves in disjunctive normal form:
AND over each term's leaves, then OR over each filter's terms, a few whole-matrix operations
for all filters (terms and filters grouped by length: `_buckets`).

Exactness: a leaf is computed as the generated vector code computes it (`vector_ops.inline`,
`in_consts`): an operand other than a column is that code (`codegen.generate` over
`vector_ops`), compared by the same numpy operation on the same dtypes (int64 with an int64
threshold, float64 with float64), masked by the operand's NULLs where that code masks
(integers, `!=`, IN), since a NULL double is NaN, which compares False. An operand that fails
or is not of its type's dtype leaves its filters to their own code for that batch (as do
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
from .ir import BOOL, FLOAT, INT, INT64_MAX, INT64_MIN, Col, Const, Node, Op

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
    """`operand op threshold`; the operand's IR type (INT or FLOAT) is the threshold's."""

    operand: Node
    op: str
    threshold: int | float


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


def _comparison(node: Op) -> list[Term]:
    a, b = node.args
    op = node.helper
    if isinstance(a, Const):
        a, b, op = b, a, _FLIPPED[op]  # `c < x` is `x > c`, NaN included
    if not isinstance(b, Const) or b.type != a.type:
        raise _Unfusable
    operand = _operand(a)
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


class _Operand:
    """One distinct operand, computed once per batch: a column read as it is, anything else by
    its generated vector code."""

    def __init__(self, node: Node) -> None:
        self.dtype = _DTYPES[node.type]
        self.column = node.name if isinstance(node, Col) else None
        self._function: Callable[[Any, Any], tuple[Any, ...]] | None = (
            None if isinstance(node, Col) else generate([node], vector_ops, "operand").function)

    def evaluate(self, batch: ColumnBatch, now: float) -> tuple[np.ndarray, np.ndarray | None] | None:
        """(values, where not NULL or None if nowhere) over the batch, or None if the generated
        code failed or gave another dtype: its filters' own code then decides."""
        if self._function is None:
            values, nulls = batch.pairs[self.column]
        else:
            try:
                values, nulls = self._function(batch, now)[0]
            except Exception:
                return None
        n = len(batch)
        if not (isinstance(values, (np.ndarray, np.generic)) and values.dtype == self.dtype and np.shape(values) in ((), (n,))
                and (nulls is None or np.shape(nulls) in ((), (n,)))):
            return None
        return _full(values, n), None if nulls is None else _full(~nulls, n)


@dataclass(frozen=True)
class _Group:
    """The leaves of one operand and operator: rows `start:stop` of the leaf matrix."""

    operand: int
    op: str
    masked: bool  # where the operand is NULL the comparison is made False (else NaN compared False already)
    thresholds: np.ndarray  # a column vector, to broadcast against the alerts
    start: int
    stop: int


class FusedWheres(Generic[K]):
    """The fusable WHERE clauses of many filters, evaluated together; `keys` are those fused."""

    def __init__(self, wheres: Mapping[K, Node | None]) -> None:
        forms = {key: terms for key, where in wheres.items() if where is not None and (terms := dnf(where)) is not None}
        self.keys: tuple[K, ...] = tuple(forms)
        by_group: dict[tuple[Node, str], set[int | float]] = {}
        for terms in forms.values():
            for term in terms:
                for leaf in term:
                    by_group.setdefault((leaf.operand, leaf.op), set()).add(leaf.threshold)
        operands = list(dict.fromkeys(operand for operand, _ in by_group))
        self._operands = [_Operand(node) for node in operands]
        number = {node: i for i, node in enumerate(operands)}
        # The leaf matrix has one row per distinct leaf and a last row TRUE (the empty term);
        # the term matrix one row per distinct term and a last row FALSE (a filter without terms).
        row: dict[_Leaf, int] = {}
        self._groups: list[_Group] = []
        for (node, op), thresholds in by_group.items():
            ordered = sorted(thresholds)
            start = len(row)
            row.update({_Leaf(node, op, t): start + i for i, t in enumerate(ordered)})
            masked = node.type != FLOAT or op in ("ne", "in")
            column = np.array(ordered, dtype=_DTYPES[node.type])[:, None]
            self._groups.append(_Group(number[node], op, masked, column, start, len(row)))
        self._leaves = len(row)
        terms = list(dict.fromkeys(term for terms in forms.values() for term in terms))
        self._terms = len(terms)
        self._term_buckets, term_order = _buckets([[row[leaf] for leaf in term] or [self._leaves] for term in terms])
        position = {terms[i]: p for p, i in enumerate(term_order)}
        self._filter_buckets, filter_order = _buckets([[position[t] for t in forms[key]] or [self._terms]
                                                       for key in self.keys])
        self._order = [self.keys[i] for i in filter_order]  # the key of each row of the results
        self._users: list[set[K]] = [set() for _ in operands]  # the filters reading each operand
        for key, terms in forms.items():
            for leaf in (leaf for term in terms for leaf in term):
                self._users[number[leaf.operand]].add(key)

    def masks(self, batch: ColumnBatch, now: float) -> dict[K, np.ndarray]:
        """Fused key -> bool per row of `batch`, for the fused filters whose operands all computed
        (`now` is mjdnow()). The caller holds numpy's error state, as for `CompiledFilter.mask`."""
        if not self.keys:
            return {}
        operands = [operand.evaluate(batch, now) for operand in self._operands]
        leaves = np.empty((self._leaves + 1, len(batch)), dtype=bool)
        for g in self._groups:
            out = leaves[g.start:g.stop]
            computed = operands[g.operand]
            if computed is None:
                out[:] = False  # its filters are left out below
                continue
            values, valid = computed
            _UFUNCS[g.op](values, g.thresholds, out=out)
            if g.masked and valid is not None:
                out &= valid
        leaves[self._leaves] = True
        terms = _combine(leaves, self._term_buckets, np.logical_and, self._terms + 1)
        terms[self._terms] = False
        results = zip(self._order, _combine(terms, self._filter_buckets, np.logical_or, len(self._order)))
        failed = set().union(*(users for users, computed in zip(self._users, operands) if computed is None))
        return {key: mask for key, mask in results if key not in failed} if failed else dict(results)


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
