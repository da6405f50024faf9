"""MariaDB's typing of exact numbers, as IR: DECIMAL arithmetic, its comparisons, and numeric literals.

MariaDB (Lasair's database) computes with DECIMAL wherever no DOUBLE is involved and a decimal
literal or a `/` is: `0.1 + 0.2 = 0.3` is true, `nPosDiaSources / nDiaSources` is a DECIMAL with
4 more decimals than the dividend (div_precision_increment), its digits computed to the next
multiple of 9 and truncated there. A comparison rounds each DECIMAL side half up to its declared
decimals first (`2/3 = 0.6667` is true), BETWEEN does not. Anything meeting a DOUBLE becomes a
DOUBLE. An integer compared with an exact constant is rewritten to an integer comparison, which
keeps the common `nDiaSources > 2.5` a single numpy operation.
"""
from __future__ import annotations

import math
import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from .ir import BOOL, FLOAT, INT, INT64_MAX, INT64_MIN, NULL, STR, UNSIGNED, Col, Const, Node, Op, balanced, cast, dec, dec_parts, is_dec

DIV_PRECISION_INCREMENT = 4  # MariaDB's default
MAX_SCALE = 38  # DECIMAL_MAX_SCALE
MAX_DIGITS = 65  # DECIMAL_MAX_PRECISION
_DIGITS_PER_WORD = 9
_FLIPPED = {"lt": "gt", "le": "ge", "gt": "lt", "ge": "le", "eq": "eq", "ne": "ne", "null_safe_eq": "null_safe_eq"}
_NUMBER_PREFIX = re.compile(r"[ \t\n\r\f\v]*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)?")


def number_literal(text: str, negate: bool) -> Const:
    """A numeric literal as MariaDB types it: BIGINT, else DECIMAL (digits, with a point or beyond BIGINT),
    else DOUBLE (an exponent, or more than 65 digits); ValueError (the cause) if unreadable or infinite."""
    if "e" not in text.lower() and len(text) <= MAX_DIGITS + ("." in text):
        whole, _, fraction = text.partition(".")
        if (whole + fraction).isdigit() or (whole == "" and fraction.isdigit()):
            value = -int((whole or "0") + fraction) if negate else int((whole or "0") + fraction)
            if not fraction and INT64_MIN <= value <= INT64_MAX:
                return Const(value, INT)
            return Const(value, dec(len(fraction), len(fraction)))
    try:
        value = -float(text) if negate else float(text)
    except ValueError:
        raise ValueError(f"cannot read the number {text!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"number {text if len(text) <= 30 else text[:27] + '...'} is out of range")
    return Const(value, FLOAT)


def quoted_numbers(pairs: list[tuple[Node, Any]]) -> list[tuple[Node, Any]]:
    """Quoted numbers compared with numbers are read as MariaDB compares them: as DECIMALs against
    integers and DECIMALs (`nDiaSources = '1.0000000000000001'` is false), as doubles against a DOUBLE."""
    types = {ir.type for ir, _ in pairs} - {NULL}
    if STR not in types or len(types) == 1:
        return pairs
    read = string_number if FLOAT in types else string_decimal
    return [(read(ir.value) if isinstance(ir, Const) and ir.type == STR else ir, n) for ir, n in pairs]


def string_decimal(text: str) -> Const:
    """A quoted number as an exact DECIMAL: its longest numeric prefix ('5abc' is 5, 'x' 0)."""
    found = _NUMBER_PREFIX.match(text).group(1)
    number = Decimal(found) if found else Decimal(0)
    if number.adjusted() >= MAX_DIGITS:  # beyond DECIMAL(65): MariaDB's largest DECIMAL
        return Const(int(number.copy_sign(Decimal(10**MAX_DIGITS - 1))), dec(0, 0))
    frac = min(max(0, -number.as_tuple().exponent), MAX_SCALE)
    return Const(int(number.scaleb(frac).to_integral_value(rounding=ROUND_HALF_UP)), dec(frac, frac))


def string_number(text: str) -> Const:
    """A quoted number where MariaDB wants a number: its longest numeric prefix as a double ('5abc' is 5, 'x' 0)."""
    found = _NUMBER_PREFIX.match(text).group(1)
    try:
        value = float(found) if found else 0.0
    except ValueError:
        value = 0.0
    return Const(value if math.isfinite(value) else math.copysign(1.7976931348623157e308, value), FLOAT)


def common_type(types: set[str]) -> str:
    """The DECIMAL that holds every one of `types` (DECIMALs and integers) exactly."""
    parts = [dec_parts(t) for t in types]
    return dec(max(f for f, _ in parts), max(d for _, d in parts))


def rounded(ir: Node) -> Node:
    """A DECIMAL rounded half up to its declared decimals, as MariaDB does before comparing it."""
    frac, decimals = dec_parts(ir.type)
    if not is_dec(ir.type) or frac <= decimals:
        return ir
    return Op("dec_round", dec(decimals, decimals), (ir,), (frac, decimals))


def arithmetic(kind: str, a: Node, b: Node) -> Node:
    """+, -, * and MOD of DECIMALs and integers; with a BIGINT UNSIGNED and no DECIMAL, unsigned
    (a result below 0 or beyond 2^64 - 1 is MariaDB's out-of-range error: NULL here)."""
    if UNSIGNED in (a.type, b.type) and {a.type, b.type} <= {UNSIGNED, INT, BOOL} and kind != "mod":
        result = Op(f"dec_{kind}", UNSIGNED, (cast(a, UNSIGNED), cast(b, UNSIGNED)))
        return Op("unsigned_range", UNSIGNED, (result,))
    (fa, da), (fb, db) = dec_parts(a.type), dec_parts(b.type)
    if kind == "mul":
        return Op("dec_mul", dec(fa + fb, min(da + db, MAX_SCALE)), (cast(a, dec(fa, da)), cast(b, dec(fb, db))))
    type_ = common_type({a.type, b.type})
    return Op(f"dec_{kind}", type_, (cast(a, type_), cast(b, type_)))


def divide(a: Node, b: Node) -> Node:
    """`/` without a DOUBLE: digits to the next multiple of 9 past frac(a) + frac(b) + 4, truncated."""
    (fa, da), (fb, db) = dec_parts(a.type), dec_parts(b.type)
    frac = -(-(fa + fb + DIV_PRECISION_INCREMENT) // _DIGITS_PER_WORD) * _DIGITS_PER_WORD
    type_ = dec(frac, min(da + DIV_PRECISION_INCREMENT, MAX_SCALE))
    return Op("dec_div", type_, (cast(a, dec(fa, da)), cast(b, dec(fb, db))), (fb + frac - fa,))


def int_divide(a: Node, b: Node) -> Node:
    """DIV with a DECIMAL: the quotient truncated to a BIGINT."""
    fa, fb = dec_parts(a.type)[0], dec_parts(b.type)[0]
    return Op("dec_intdiv", INT, (cast(a, dec(fa, fa)), cast(b, dec(fb, fb))), (fb, fa))


def compare(helper: str, a: Node, b: Node, rounding: bool = True) -> Node:
    """A comparison of numbers, at least one DECIMAL and none DOUBLE, as MariaDB makes it
    (`rounding`: each side rounded to its decimals first; BETWEEN does not)."""
    for x, c, op in ((a, b, helper), (b, a, _FLIPPED[helper])):
        if x.type in (INT, BOOL) and isinstance(c, Const) and c.value is not None:
            return integer_compare(op, cast(x, INT), c)
    if rounding:
        a, b = rounded(a), rounded(b)
    type_ = common_type({a.type, b.type})
    return Op(helper, BOOL, (cast(a, type_), cast(b, type_)))


def integer_compare(helper: str, x: Node, c: Const) -> Node:
    """`integer op exact constant` as an integer comparison: x > 2.5 is x > 2, x = 2.5 never true."""
    frac, _ = dec_parts(c.type)
    low, high = c.value // 10**frac, -(-c.value // 10**frac)  # floor and ceiling
    if not INT64_MIN <= low <= high <= INT64_MAX:
        type_ = common_type({INT, c.type})
        return Op(helper, BOOL, (cast(x, type_), cast(c, type_)))
    exact = low == high
    floor_, ceil_ = Const(low, INT), Const(high, INT)
    if helper in ("gt", "le"):
        return Op(helper, BOOL, (x, floor_))
    if helper in ("lt", "ge"):
        return Op(helper, BOOL, (x, ceil_))
    if exact:
        return Op(helper, BOOL, (x, floor_))
    if helper == "null_safe_eq":
        return Const(False, BOOL)
    between = [Op("gt", BOOL, (x, floor_)), Op("lt", BOOL, (x, ceil_))]
    return balanced("and_" if helper == "eq" else "or_", between)  # false (true for <>) unless x is NULL


def integral_constant(x: Node, c: Node) -> Node | None:
    """`c` as an integer constant if `x` is an integer column and `c` an integral DOUBLE constant: MariaDB compares an integer column with an integral DOUBLE constant as integers (it converts the
    constant to the column's type when that is exact): `diaObjectId = 1.7e17` is exact."""
    if (isinstance(x, Col) and x.type == INT and isinstance(c, Const) and c.type == FLOAT and c.value is not None
            and float(c.value).is_integer() and INT64_MIN <= c.value < 2.0**63):
        return Const(int(c.value), INT)
    return None


def decimal_rounding(x: Node, digits: int, truncate: bool) -> Node:
    """ROUND/TRUNCATE of a DECIMAL to `digits` (half away from zero, or toward zero): exactly those digits."""
    frac, decimals = dec_parts(x.type)
    helper = "dec_truncate" if truncate else "dec_round"
    if digits >= frac:
        return x
    if digits >= 0:
        return Op(helper, dec(digits, digits), (x,), (frac, digits))
    units = Op(helper, dec(0, 0), (x,), (frac, digits))  # in units of 10^-digits
    return Op("dec_mul", dec(0, 0), (units, Const(10**-digits, dec(0, 0))))


def output(ir: Node) -> Node:
    """A DECIMAL result as MariaDB returns it: rounded to its decimals, then given as a double, or as an
    exact integer when it has none (`~0` is 18446744073709551615)."""
    if not is_dec(ir.type):
        return ir
    value = rounded(ir)
    return value if dec_parts(value.type)[1] == 0 else cast(value, FLOAT)


def is_exact(type_: str) -> bool:
    return is_dec(type_) or type_ in (INT, BOOL)

