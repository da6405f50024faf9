"""The typed intermediate form between validated SQL and generated Python.

Both back ends (per-row and vectorised) are generated from this one form, so they cannot
drift apart in what they compute, only in how. Nodes are immutable and compare by
structure, which gives common-subexpression sharing for free when generating code.

Types follow MariaDB's classes: `bool` (0/1 integers from predicates), `int` (BIGINT),
`float` (DOUBLE), `str`, and DECIMAL as `dec<frac>_<decimals>` (`dec(frac, decimals)`): a
value is an int scaled by 10^frac, the digits MariaDB carries, and `decimals` is the scale MariaDB
declares (shown, and rounded to before a comparison). `null` is the type of a bare NULL literal
until its context gives it a real one.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Union

from .collation import fold_chars as collation_chars
from .collation import sort_key

BOOL, INT, FLOAT, STR, NULL = "bool", "int", "float", "str", "null"

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1



def dec(frac: int, decimals: int) -> str:
    return f"dec{frac}_{decimals}"


def is_dec(type_: str) -> bool:
    return type_.startswith("dec")


def dec_parts(type_: str) -> tuple[int, int]:
    """(frac, decimals) of a DECIMAL type; an integer type is a DECIMAL with none."""
    if not is_dec(type_):
        return 0, 0
    frac, decimals = type_[3:].split("_")[:2]
    return int(frac), int(decimals)


UNSIGNED = dec(0, 0) + "_u"  # BIGINT UNSIGNED (bitwise results, CAST AS UNSIGNED): exact, 0 to 2^64 - 1


# Comparison helpers (named as in both runtimes) and the Python operator each inlines to.
COMPARISON_SYMBOLS = {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}


def _cached_hash(node: Node) -> int:
    """IR trees are hashed often while sharing subexpressions: hash once, at construction."""
    return node._hash


@dataclass(frozen=True, eq=True)
class Col:
    """A column of the `objects` row; `folded` reads its collation key (`collation.sort_key`) for comparisons."""

    name: str
    type: str
    folded: bool = False
    _hash: int = field(init=False, repr=False, compare=False)
    __hash__ = _cached_hash

    def __post_init__(self) -> None:
        object.__setattr__(self, "_hash", hash((Col, self.name, self.type, self.folded)))


@dataclass(frozen=True, eq=False)
class Const:
    """A literal; None is SQL NULL. Equality includes the exact repr so 0.0 and -0.0 differ."""

    value: Any
    type: str
    _hash: int = field(init=False, repr=False)
    __hash__ = _cached_hash

    def __post_init__(self) -> None:
        object.__setattr__(self, "_hash", hash((Const, self.type, repr(self.value))))

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Const) and self.type == other.type
                and type(self.value) is type(other.value) and repr(self.value) == repr(other.value))


@dataclass(frozen=True, eq=True)
class Now:
    """Lasair's mjdnow(): the evaluation-time MJD, supplied by the caller or a clock."""

    type: str = FLOAT
    _hash: int = field(init=False, repr=False, compare=False)
    __hash__ = _cached_hash

    def __post_init__(self) -> None:
        object.__setattr__(self, "_hash", hash(Now))


@dataclass(frozen=True, eq=True)
class Op:
    """`helper(*args, *params)`: args are IR nodes, params static values chosen by the compiler.

    `helper` names a function that both runtimes (`row_ops`, `vector_ops`) provide.
    """

    helper: str
    type: str
    args: tuple[Node, ...]
    params: tuple[Any, ...] = ()
    _hash: int = field(init=False, repr=False, compare=False)
    __hash__ = _cached_hash

    def __post_init__(self) -> None:
        object.__setattr__(self, "_hash", hash((Op, self.helper, self.type, self.args, self.params)))


Node = Union[Col, Const, Now, Op]


def columns_of(node: Node) -> set[str]:
    names: set[str] = set()
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, Col):
            names.add(current.name)
        elif isinstance(current, Op):
            stack.extend(current.args)
    return names


def uses_now(node: Node) -> bool:
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, Now):
            return True
        if isinstance(current, Op):
            stack.extend(current.args)
    return False


# ---------------------------------------------------------------- rewrites the analyser applies


def balanced(helper: str, operands: Sequence[Node]) -> Node:
    """AND, OR and XOR are associative in three-valued logic: a balanced tree keeps long
    chains shallow for everything that walks the IR."""
    if len(operands) == 1:
        return operands[0]
    middle = len(operands) // 2
    return Op(helper, BOOL, (balanced(helper, operands[:middle]), balanced(helper, operands[middle:])))


def null_is_false(node: Node) -> Node:
    """Under WHERE, NULL and FALSE both reject, so the top AND/OR chain may skip NULL tracking.

    The rewrite stops at any other operator (NOT, comparisons of predicates, ...), where
    NULL and FALSE differ.
    """
    if isinstance(node, Op) and node.helper in ("and_", "or_"):
        return Op(f"{node.helper}true", BOOL, tuple(null_is_false(arg) for arg in node.args))
    return node


def cast(ir: Node, target: str) -> Node:
    """Convert between numeric types (bool -> int -> decimal -> float); NULL literals take any type.

    A DECIMAL becomes a double correctly rounded from all its digits; an integer or DECIMAL becomes
    a DECIMAL with more digits exactly.
    """
    if ir.type == target:
        return ir
    frac, _ = dec_parts(ir.type)
    if isinstance(ir, Const):
        if ir.value is None:
            return Const(None, target)
        if is_dec(target):
            return Const(int(ir.value) * 10 ** (dec_parts(target)[0] - frac), target)
        return Const(int(ir.value) / 10**frac if target == FLOAT else int(ir.value), target)
    if is_dec(ir.type):
        if target == FLOAT:
            return Op("dec_to_float", FLOAT, (ir,), (frac,))
        return Op("dec_rescale", target, (ir,), (frac, dec_parts(target)[0]))
    if is_dec(target):
        return Op("dec_from_int", target, (cast(ir, INT),), (dec_parts(target)[0],))
    return Op("to_float" if target == FLOAT else "to_int", target, (ir,))


def fold(ir: Node) -> Node:
    """A string's comparison key under MariaDB's default collation (`collation.sort_key`)."""
    if isinstance(ir, Const):
        return ir if ir.value is None else Const(sort_key(ir.value), STR)
    if isinstance(ir, Col):
        return Col(ir.name, STR, folded=True)
    return Op("fold", STR, (ir,))


def fold_chars(ir: Node) -> Node:
    """A string's characters by collation weight, unpadded, for LIKE."""
    if isinstance(ir, Const):
        return ir if ir.value is None else Const(collation_chars(ir.value), STR)
    return Op("fold_chars", STR, (ir,))
