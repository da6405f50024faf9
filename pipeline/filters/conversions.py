"""CAST, bitwise operators and hex literals, typed as MariaDB types them.

Bitwise operators work on BIGINT UNSIGNED in MariaDB (`~0` is 18446744073709551615, `-1 & 1`
is 1, a shift by 64 or more is 0): their results are exact integers of any size here (a DECIMAL
with no decimals), operands converted to integers as MariaDB converts them (a DOUBLE by rint(),
a DECIMAL half away from zero). A hex literal in a numeric context is its unsigned integer.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlglot import exp

from .decimals import string_number
from .errors import FilterError
from .ir import BOOL, FLOAT, INT, INT64_MAX, NULL, STR, UNSIGNED, Const, Node, Op, cast, dec, dec_parts, is_dec

if TYPE_CHECKING:
    from .analyse import Builder

EXACT_INTEGER = dec(0, 0)  # an integer of any size, before a bitwise operator or CAST reads it
_DEFAULT_DECIMAL = (10, 0)  # DECIMAL without (M, D)


def integer(ir: Node, unsigned: bool = False) -> Node:
    """A number as an exact integer, as MariaDB's val_int() makes it."""
    if ir.type == FLOAT:
        return Op("float_to_int", UNSIGNED if unsigned else EXACT_INTEGER, (ir,), ("unsigned" if unsigned else "signed",))
    frac, _ = dec_parts(ir.type)
    if frac:
        return Op("dec_round", EXACT_INTEGER, (ir,), (frac, 0))
    return cast(ir, INT) if ir.type == BOOL else ir


def _bits(b: Builder, node: exp.Expression) -> Node:
    """An operand of a bitwise operator: a DOUBLE is rounded half away from zero and clamped to
    [-2^63, 2^64 - 1] there (unlike CAST's rint()), as MariaDB does."""
    ir = b.numeric(node)
    return Op("float_to_int", EXACT_INTEGER, (ir,), ("bits",)) if ir.type == FLOAT else integer(ir)


def _bitwise(helper: str) -> Callable[[Builder, exp.Expression], Node]:
    def build(b: Builder, node: exp.Expression) -> Node:
        return Op(helper, UNSIGNED, (_bits(b, node.this), _bits(b, node.expression)))
    return build


def _bit_not(b: Builder, node: exp.BitwiseNot) -> Node:
    return Op("bit_not", UNSIGNED, (_bits(b, node.this),))


def bit_count(b: Builder, node: exp.Func) -> Node:
    return Op("bit_count", INT, (_bits(b, node.this),))


def _hex(b: Builder, node: exp.HexString) -> Node:
    """0x1F is a number; X'1F' is a (binary) string, so a number only as a quoted number is ('A' is 0)."""
    start = (node.meta or {}).get("start")
    if start is not None and b.sql[start:start + 2].lower() == "x'":
        try:
            return Const(bytes.fromhex(node.this).decode("utf-8"), STR)
        except ValueError:
            b.fail(node, "X'...' must spell UTF-8 text here")
    value = int(node.this or "0", 16)
    return Const(value, INT) if value <= INT64_MAX else Const(value, UNSIGNED)


def _cast(b: Builder, node: exp.Cast) -> Node:
    target = node.to
    kind = target.this
    ir = b.build(node.this)
    if ir.type == STR and isinstance(ir, Const) and kind != exp.DataType.Type.CHAR:
        ir = string_number(ir.value)  # CAST('2.5' AS ...) reads the number
    if kind in (exp.DataType.Type.CHAR, exp.DataType.Type.VARCHAR, exp.DataType.Type.TEXT):
        if ir.type not in (STR, INT, BOOL, NULL):
            b.fail(node, "CAST(... AS CHAR) takes a string or an integer here")
        return ir if ir.type == STR else Op("int_to_str", STR, (cast(ir if ir.type != NULL else Const(None, INT), INT),))
    if ir.type == STR:
        b.fail(node.this, "CAST of a string column to a number is not supported; compare the string instead")
    number = Const(None, INT) if ir.type == NULL else cast(ir, INT) if ir.type == BOOL else ir
    if kind in (exp.DataType.Type.DOUBLE, exp.DataType.Type.FLOAT):
        return cast(number, FLOAT)
    if kind == exp.DataType.Type.BIGINT:  # SIGNED
        exact = integer(number)
        return exact if exact.type == INT else Op("dec_floor", INT, (exact,), (0,))
    if kind == exp.DataType.Type.UBIGINT:  # UNSIGNED
        exact = integer(number, unsigned=True)
        if is_dec(number.type) and number.type != UNSIGNED:  # a DECIMAL clamps (-2.5 is 0); an integer wraps
            return Op("clamp_unsigned", UNSIGNED, (exact,))
        return exact if exact.type == UNSIGNED else Op("to_unsigned", UNSIGNED, (exact,))
    if kind == exp.DataType.Type.DECIMAL:
        return _to_decimal(b, node, number)
    raise FilterError(f"CAST to {target.sql(dialect='mysql')} is not supported (SIGNED, UNSIGNED, DECIMAL(M,D), DOUBLE, CHAR)",
                      sql=b.sql, offset=b.function_offset(node))


def _to_decimal(b: Builder, node: exp.Cast, x: Node) -> Node:
    params = [b.integer_literal(p.this, "DECIMAL's precision and scale") for p in node.to.expressions]
    _, scale = (params + [0])[:2] if params else _DEFAULT_DECIMAL
    if x.type == FLOAT:
        return Op("dec_from_float", dec(scale, scale), (x,), (scale,))
    frac, _ = dec_parts(x.type)
    if is_dec(x.type) and frac > scale:
        return Op("dec_round", dec(scale, scale), (x,), (frac, scale))
    return cast(x, dec(scale, scale))


HANDLERS: dict[type[exp.Expression], Callable[[Builder, exp.Expression], Node]] = {
    exp.BitwiseAnd: _bitwise("bit_and"),
    exp.BitwiseOr: _bitwise("bit_or"),
    exp.BitwiseXor: _bitwise("bit_xor"),
    exp.BitwiseLeftShift: _bitwise("shift_left"),
    exp.BitwiseRightShift: _bitwise("shift_right"),
    exp.BitwiseNot: _bit_not,
    exp.HexString: _hex,
    exp.Cast: _cast,
}
