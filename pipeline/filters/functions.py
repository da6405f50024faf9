"""The SQL functions a filter may call, with MySQL's argument and result types.

Only the functions listed here compile; anything else is refused by name, with the
nearest of these offered. Each entry turns a sqlglot call node into IR using the
analyser's typing helpers, so domain errors (SQRT(-1), LOG(0), ASIN(2)) and overflow
come out as NULL through the shared "non-finite result is NULL" rule of both runtimes.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlglot import exp

from . import json_sql
from .conversions import bit_count
from .decimals import decimal_rounding
from .ir import FLOAT, INT, Const, Node, Now, Op, dec_parts, is_dec
from .kernels import ROUND_DIGITS_LIMIT

if TYPE_CHECKING:
    from .analyse import Builder

FUNCTION_NAMES = (
    "ABS", "ACOS", "ASIN", "ATAN", "ATAN2", "CEIL", "CEILING", "COALESCE", "COS", "DEGREES",
    "EXP", "FLOOR", "FLUX2MAG", "GREATEST", "IF", "IFNULL", "JSON_EXTRACT", "JSON_UNQUOTE", "LEAST", "LN", "LOG", "LOG10", "LOG2",
    "MJDNOW", "MOD", "PI", "POW", "POWER", "RADIANS", "ROUND", "SIGN", "SIN", "SQRT", "TAN", "TRUNCATE", "BIT_COUNT",
)

MJD_UNIX_EPOCH = 40587.0


def mjd_now() -> float:
    """The current Modified Julian Date, for Lasair's mjdnow() (UTC, ignoring leap seconds)."""
    return time.time() / 86400.0 + MJD_UNIX_EPOCH


FunctionCompiler = Callable[["Builder", exp.Func], Node]


def _unary(ufunc: np.ufunc) -> FunctionCompiler:
    def build(b: Builder, node: exp.Func) -> Node:
        return Op("math1", FLOAT, (b.real(node.this),), (ufunc,))
    return build


def _binary(ufunc: np.ufunc) -> FunctionCompiler:
    def build(b: Builder, node: exp.Func) -> Node:
        return Op("math2", FLOAT, (b.real(node.this), b.real(node.expression)), (ufunc,))
    return build


def _scale(factor: float) -> FunctionCompiler:
    """RADIANS/DEGREES: MySQL multiplies by the constant pi/180 or 180/pi."""
    def build(b: Builder, node: exp.Func) -> Node:
        return Op("mul_float", FLOAT, (b.real(node.this), Const(factor, FLOAT)))
    return build


def _atan(b: Builder, node: exp.Func) -> Node:
    if node.expression is not None:  # ATAN(y, x) is ATAN2(y, x)
        return _binary(np.arctan2)(b, node)
    return _unary(np.arctan)(b, node)


_LOG_BASES = {10.0: np.log10, 2.0: np.log2}


def _log(b: Builder, node: exp.Func) -> Node:
    """LOG(x) is LN in MySQL; sqlglot gives LOG10(x)/LOG2(x) as LOG(10, x)/LOG(2, x)."""
    if node.expression is None:
        return Op("math1", FLOAT, (b.real(node.this),), (np.log,))
    base, x = b.real(node.this), b.real(node.expression)
    if isinstance(base, Const) and base.value in _LOG_BASES:
        return Op("math1", FLOAT, (x,), (_LOG_BASES[base.value],))
    return Op("log_base", FLOAT, (base, x))  # NULL unless base > 0, base <> 1 and x > 0, as MariaDB


def _abs(b: Builder, node: exp.Func) -> Node:
    x = b.numeric(node.this)
    return Op("dec_abs" if is_dec(x.type) else f"abs_{x.type}", x.type, (x,))


def _sign(b: Builder, node: exp.Func) -> Node:
    return Op("sign", INT, (b.numeric(node.this),))


def _floor_ceil(ufunc: np.ufunc) -> FunctionCompiler:
    """FLOOR/CEIL keep an integer as it is, give a BIGINT for a DECIMAL and a DOUBLE for a DOUBLE, as MariaDB."""
    def build(b: Builder, node: exp.Func) -> Node:
        b.only_args(node, "this")
        x = b.numeric(node.this)
        if is_dec(x.type):
            return Op("dec_floor" if ufunc is np.floor else "dec_ceil", INT, (x,), (dec_parts(x.type)[0],))
        return x if x.type == INT else Op("math1", FLOAT, (x,), (ufunc,))
    return build


def _rounding(truncate: bool) -> FunctionCompiler:
    """ROUND (halves: to even for a DOUBLE, as MariaDB's rint(); away from zero for exact values) and
    TRUNCATE (toward zero); a DECIMAL keeps exactly the digits asked for."""
    name = "TRUNCATE" if truncate else "ROUND"

    def build(b: Builder, node: exp.Func) -> Node:
        b.only_args(node, "this", "decimals")
        x = b.numeric(node.this)
        digits_node = node.args.get("decimals")
        if digits_node is None and truncate:
            b.fail(node, "TRUNCATE takes two arguments: a number and the decimals to keep")
        digits = 0 if digits_node is None else b.integer_literal(digits_node, f"{name}'s second argument")
        digits = max(-ROUND_DIGITS_LIMIT, min(ROUND_DIGITS_LIMIT, digits))
        if is_dec(x.type):
            return decimal_rounding(x, digits, truncate)
        if x.type == INT:
            return x if digits >= 0 else Op("round_int", INT, (x,), (digits, truncate))
        return Op("round_float", FLOAT, (x,), (digits, truncate))
    return build


def _extreme(helper: str) -> FunctionCompiler:
    def build(b: Builder, node: exp.Func) -> Node:
        args = [node.this, *node.expressions]
        if len(args) < 2:
            b.fail(node, f"{helper.upper()} takes at least two arguments")
        irs = [b.numeric(a, f"{helper.upper()} compares numbers only") for a in args]
        type_, coerced = b.unify(list(zip(irs, args)), helper.upper())
        return Op(helper, type_, tuple(coerced))
    return build


def _pi(b: Builder, node: exp.Func) -> Node:
    return Const(math.pi, FLOAT)


FUNCTIONS: dict[type[exp.Expression], FunctionCompiler] = {
    exp.Abs: _abs,
    exp.Sign: _sign,
    exp.Sqrt: _unary(np.sqrt),
    exp.Exp: _unary(np.exp),
    exp.Ln: _unary(np.log),
    exp.Log: _log,
    exp.Pow: _binary(np.power),
    exp.Sin: _unary(np.sin),
    exp.Cos: _unary(np.cos),
    exp.Tan: _unary(np.tan),
    exp.Asin: _unary(np.arcsin),
    exp.Acos: _unary(np.arccos),
    exp.Atan: _atan,
    exp.Atan2: _binary(np.arctan2),
    exp.Radians: _scale(math.pi / 180.0),
    exp.Degrees: _scale(180.0 / math.pi),
    exp.Pi: _pi,
    exp.Floor: _floor_ceil(np.floor),
    exp.Ceil: _floor_ceil(np.ceil),
    exp.Round: _rounding(truncate=False),
    exp.Trunc: _rounding(truncate=True),
    exp.BitwiseCount: bit_count,
    exp.Greatest: _extreme("greatest"),
    exp.Least: _extreme("least"),
    exp.JSONExtract: json_sql.extract,
}


def flux2mag(flux: Any) -> Any:
    """Lasair's stored function `flux2mag(flux FLOAT) RETURNS FLOAT`: IF(flux>0, -2.5*log10(flux)+31.4,
    NULL) (nJy to AB magnitude). The argument and the result are single precision, as MySQL's FLOAT;
    NULL (NaN here) for a flux that is not positive as a FLOAT."""
    single = np.asarray(flux, dtype=np.float64).astype(np.float32)
    with np.errstate(all="ignore"):
        mag = (-2.5 * np.log10(single.astype(np.float64)) + 31.4).astype(np.float32).astype(np.float64)
    return np.where(single > 0, mag, np.nan)


def anonymous(b: Builder, node: exp.Anonymous) -> Node:
    """Functions sqlglot does not know: Lasair's mjdnow() and flux2mag()."""
    name = node.name
    if name.lower() == "mjdnow":
        if node.expressions:
            b.fail(node, "mjdnow() takes no arguments")
        return Now()
    if name.lower() == "flux2mag":
        if len(node.expressions) != 1:
            b.fail(node, "flux2mag() takes one argument, a flux in nJy")
        return Op("math1", FLOAT, (b.real(node.expressions[0]),), (flux2mag,))
    if name.lower() == "json_unquote":
        return json_sql.unquote(b, node)
    return b.fail(node, f"unknown function {name}()", b.suggest_function(name))
