"""Differential test: compiled filters (per row and vectorised) against SQLite as the oracle.

A seeded generator writes thousands of random filters mixing the supported constructs;
each is written twice, once as a user would for MySQL/Lasair and once for SQLite,
translated so that SQLite computes MySQL's semantics. (The same filters run in MariaDB itself in
test_mariadb_differential, which also checks what SQLite cannot: MariaDB's DECIMAL.)

* `/` divides doubles (`CAST(a AS REAL) / b`); SQLite would truncate integers. MariaDB divides
  integers as DECIMALs; on these data the two agree (double literals carry an exponent).
* `DIV` is SQLite's integer `/` on integers (truncating, as MySQL); on doubles a
  registered function (SQLite's CAST to INTEGER saturates where MySQL overflows);
  `%`/MOD on doubles is SQLite's `mod()` (fmod), since SQLite's `%` casts to integers.
* String comparisons, IN, BETWEEN use `COLLATE GENERAL_CI`, MariaDB's utf8mb4_general_ci
  for ASCII text (upper-cased, trailing spaces ignored: `general_ci` below; data here is ASCII).
* LIKE gets `ESCAPE '\\'` (MySQL's default escape; SQLite has none), and SQLite's LIKE is
  ASCII case-insensitive like MySQL's.
* XOR (absent from SQLite) becomes a CASE; IF becomes CASE; `<=>` becomes IS.
* NaN is stored as NULL (MySQL has no NaN; NaN in a row means NULL).
* Math functions are registered with MySQL semantics (NULL outside the domain and on
  overflow, where SQLite's built-ins give NaN/inf), as is ROUND (half to even
  after scaling; SQLite rounds via printf). ABS, SIGN, FLOOR, CEIL, PI, RADIANS,
  DEGREES and multi-argument max/min (GREATEST/LEAST: NULL if any is NULL) are SQLite's.
* mjdnow() becomes the fixed instant that the compiled filters are given.

Integers stay small where they meet arithmetic (SQLite turns integer overflow into a
double; we give NULL), values that could overflow a double (EXP, POW, TAN) are only
compared, never fed to arithmetic, and float literals are short binary fractions, which
every parser reads exactly (SQLite's reading of long decimals is not correctly rounded).
"""
from __future__ import annotations

import math
import random
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest

from pipeline.filters import ColumnBatch, compile_filter

SEED = 20250601
CHUNKS = 30
FILTERS_PER_CHUNK = 100  # 3,000 filters in all
N_ROWS = 60
NOW = 61000.5

FLOAT_COLUMNS = ["ra", "decl", "latestR", "g_psfFlux", "jump1", "absMag"]
SMALL_INT_COLUMNS = ["nDiaSources", "ngSources", "nrSources"]
BIG_INT_COLUMNS = ["diaObjectId"]  # only compared: near 2**57, arithmetic would overflow
STRING_COLUMNS = ["tns_name", "latestPairColourBands"]
ALL_COLUMNS = FLOAT_COLUMNS + SMALL_INT_COLUMNS + BIG_INT_COLUMNS + STRING_COLUMNS

FLOAT_POOL = [0.0, 1.0, -1.0, 0.5, 2.5, -2.5, 3.0, 10.0, 100.0, 1000.0, 0.001, 1e-5, 7.25]
INT_POOL = [0, 1, 2, 3, 5, 7, 10, -3, 42]
BIG_POOL = [170000000000000001, 170000000000000002, 2**62, 0, -5]
STRING_POOL = ["", "SN", "sn", "Sn 2024abc", "SN 2024ABC", "g-r", "G-R", "r-i", "a%b", "a_b",
               "a\\b", "it's", "ab", "abc", " ab", "ab ", "AB", "xyz"]
LIKE_PATTERNS = ["%", "sn%", "%2024%", "S_", "a\\%b", "a\\_b", "%AB%", "", "_", "g-r", "G-_",
                 "a\\\\b", "%b", "a%", "%'%", "__", "%_%", "ab_"]


def _rows() -> list[dict]:
    rng = random.Random(SEED)

    def pick(pool: list, null_rate: float = 0.15, nan: bool = False) -> object:
        roll = rng.random()
        if roll < null_rate:
            return float("nan") if nan and rng.random() < 0.5 else None
        return rng.choice(pool)

    rows = []
    for _ in range(N_ROWS):
        row: dict = {}
        for name in FLOAT_COLUMNS:
            value = pick(FLOAT_POOL, nan=True)
            if value is not None and rng.random() < 0.4 and not (isinstance(value, float) and math.isnan(value)):
                value = rng.uniform(-50, 50) if rng.random() < 0.7 else rng.lognormvariate(0, 3)
            row[name] = value
        for name in SMALL_INT_COLUMNS:
            row[name] = pick(INT_POOL + [rng.randint(0, 50)], nan=True)
        row["diaObjectId"] = pick(BIG_POOL)
        for name in STRING_COLUMNS:
            row[name] = pick(STRING_POOL, nan=True)
        rows.append(row)
    return rows


ROWS = _rows()


# -- MySQL-semantics functions for SQLite ----------------------------------------------------

def _real(fn):
    def wrapped(*args):
        if any(a is None for a in args):
            return None
        try:
            result = fn(*(float(a) for a in args))
        except (ValueError, OverflowError, ZeroDivisionError):
            return None
        return result if math.isfinite(result) else None
    return wrapped


def _log_base(base: float, x: float) -> float:
    if base <= 0 or base == 1 or x <= 0:  # MariaDB's domain (a base below 1 is allowed)
        raise ValueError
    return math.log(x) / math.log(base)


def _trunc_div(a: float, b: float) -> float:
    """MySQL DIV on doubles: truncated quotient, NULL beyond BIGINT (SQLite's CAST saturates)."""
    q = math.trunc(a / b)
    if not -(2**63) <= q < 2**63:
        raise OverflowError
    return q


def _round(x, digits=0):
    """MariaDB ROUND: integers stay exact; doubles are scaled, rounded half to even (rint)."""
    if x is None or digits is None:
        return None
    if isinstance(x, int):
        if digits >= 0:
            return x
        unit = 10 ** -digits
        q, r = divmod(abs(x), unit)
        q += 2 * r >= unit
        return q * unit if x >= 0 else -q * unit
    scale = 10.0 ** abs(digits)
    y = x * scale if digits >= 0 else x / scale
    if not math.isfinite(y):
        return x
    r = float(round(y))  # MariaDB's rint(): halves to even
    r = r / scale if digits >= 0 else r * scale
    return r if math.isfinite(r) else None


SQLITE_FUNCTIONS = {
    "my_sqrt": _real(math.sqrt), "my_ln": _real(math.log), "my_log10": _real(math.log10),
    "my_log2": _real(math.log2), "my_exp": _real(math.exp), "my_sin": _real(math.sin),
    "my_cos": _real(math.cos), "my_tan": _real(math.tan), "my_asin": _real(math.asin),
    "my_acos": _real(math.acos), "my_atan": _real(math.atan), "my_atan2": _real(math.atan2),
    "my_pow": _real(math.pow), "my_logb": _real(_log_base), "my_round": _round, "my_div": _real(_trunc_div),
}


def general_ci(a: str, b: str) -> int:
    """MariaDB's utf8mb4_general_ci on ASCII: case-insensitive by upper case, PAD SPACE."""
    a, b = a.upper().rstrip(" "), b.upper().rstrip(" ")
    return (a > b) - (a < b)


@pytest.fixture(scope="module")
def oracle() -> sqlite3.Connection:
    connection = sqlite3.connect(":memory:")
    connection.create_collation("GENERAL_CI", general_ci)
    for name, fn in SQLITE_FUNCTIONS.items():
        connection.create_function(name, -1, fn, deterministic=True)
    types = {**{c: "REAL" for c in FLOAT_COLUMNS}, **{c: "INTEGER" for c in SMALL_INT_COLUMNS + BIG_INT_COLUMNS},
             **{c: "TEXT" for c in STRING_COLUMNS}}
    connection.execute(f"CREATE TABLE objects ({', '.join(f'{c} {t}' for c, t in types.items())})")

    def stored(value: object) -> object:  # MySQL has no NaN: NaN in a row means NULL
        return None if isinstance(value, float) and math.isnan(value) else value

    connection.executemany(f"INSERT INTO objects VALUES ({', '.join('?' for _ in ALL_COLUMNS)})",
                           [[stored(row[c]) for c in ALL_COLUMNS] for row in ROWS])
    return connection


# -- the random filter generator ---------------------------------------------------------------

@dataclass(frozen=True)
class E:
    """One expression as a MySQL user writes it and as SQLite must compute it."""

    my: str
    lite: str
    type: str  # int, float, bool, str or null (a bare NULL)


def both(text: str, type_: str) -> E:
    return E(text, text, type_)


class Generator:
    MAX_DEPTH = 4

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def choose(self, options: list[tuple[float, Callable[[], E]]]) -> E:
        """Call one of the weighted makers."""
        roll = self.rng.uniform(0, sum(w for w, _ in options))
        for weight, make in options:
            roll -= weight
            if roll <= 0:
                return make()
        return options[-1][1]()

    # leaves

    def float_literal(self) -> E:
        value = self.rng.randint(-400, 400) / 8 if self.rng.random() < 0.75 else self.rng.choice(FLOAT_POOL)
        text = self.rng.choice(["1e3", "2.5e-1", "-1e1"]) if self.rng.random() < 0.05 else repr(float(value))
        return both(f"({text if 'e' in text else text + 'e0'})", "float")  # a DOUBLE (2.5 would be a DECIMAL)

    def int_literal(self) -> E:
        return both(f"({self.rng.choice(INT_POOL + [self.rng.randint(-20, 60)])})", "int")

    def str_literal(self, pool: list[str] = STRING_POOL) -> E:
        text = self.rng.choice(pool)
        return E("'" + text.replace("\\", "\\\\").replace("'", "''") + "'", "'" + text.replace("'", "''") + "'", "str")

    # numbers

    def number(self, depth: int, bounded: bool = True) -> E:
        """A number; unless `bounded`, possibly one that may overflow a double (EXP, POW, TAN)."""
        leaf = depth >= self.MAX_DEPTH
        options = [
            (4, lambda: both(f"objects.{self.rng.choice(FLOAT_COLUMNS)}", "float")),
            (3, lambda: both(self.rng.choice(SMALL_INT_COLUMNS), "int")),
            (2, self.float_literal), (2, self.int_literal),
            (0.3, lambda: both("NULL", "null")),
            (0.3, lambda: E("mjdnow()", repr(NOW), "float")),
        ]
        if not leaf:
            options += [(3, lambda: self.arithmetic(depth)), (0.7, lambda: self.negate(depth)),
                        (3, lambda: self.function(depth, bounded)), (1, lambda: self.case(depth, "number")),
                        (0.7, lambda: self.coalesce(depth, "number")), (0.5, lambda: self.if_(depth, "number")),
                        (0.6, lambda: self.as_number(depth))]
        return self.choose(options)

    def as_number(self, depth: int) -> E:
        b = self.boolean(depth + 1)
        return E(f"({b.my})", f"({b.lite})", "bool")

    def arithmetic(self, depth: int) -> E:
        a, b = self.number(depth + 1), self.number(depth + 1)
        op = self.rng.choice(["+", "-", "*", "/", "DIV", "%", "MOD"])
        integer = a.type in ("int", "bool", "null") and b.type in ("int", "bool", "null")
        if op == "/":
            return E(f"({a.my} / {b.my})", f"(CAST({a.lite} AS REAL) / {b.lite})", "float")
        if op == "DIV":
            lite = f"({a.lite} / {b.lite})" if integer else f"my_div({a.lite}, {b.lite})"
            return E(f"({a.my} DIV {b.my})", lite, "int")
        if op in ("%", "MOD"):
            my = f"MOD({a.my}, {b.my})" if op == "MOD" else f"({a.my} % {b.my})"
            lite = f"({a.lite} % {b.lite})" if integer else f"mod({a.lite}, {b.lite})"
            return E(my, lite, "int" if integer else "float")
        return E(f"({a.my} {op} {b.my})", f"({a.lite} {op} {b.lite})", "int" if integer else "float")

    def negate(self, depth: int) -> E:
        a = self.number(depth + 1)
        return E(f"(-{a.my})", f"(-{a.lite})", "int" if a.type in ("int", "bool", "null") else "float")

    def function(self, depth: int, bounded: bool) -> E:
        x = self.number(depth + 1)
        integer = x.type in ("int", "bool", "null")
        unary = {"SQRT": "my_sqrt", "LN": "my_ln", "LOG10": "my_log10", "LOG2": "my_log2", "SIN": "my_sin",
                 "COS": "my_cos", "ASIN": "my_asin", "ACOS": "my_acos", "ATAN": "my_atan"}
        name = self.rng.choice(list(unary) + ["LOG", "LOGB", "ABS", "SIGN", "FLOOR", "CEIL", "CEILING", "ROUND",
                                              "ROUND2", "DEGREES", "RADIANS", "GREATEST", "LEAST", "PI", "ATAN2",
                                              "ATAN_2"] + (["EXP", "POW", "POWER", "TAN"] if not bounded else []))
        if name in unary:
            return E(f"{name}({x.my})", f"{unary[name]}({x.lite})", "float")
        if name == "LOG":
            return E(f"LOG({x.my})", f"my_ln({x.lite})", "float")
        if name in ("LOGB", "ATAN2", "ATAN_2", "POW", "POWER"):
            y = self.number(depth + 1)
            my_name = {"LOGB": "LOG", "ATAN_2": "ATAN"}.get(name, name)
            lite_name = {"LOGB": "my_logb", "ATAN2": "my_atan2", "ATAN_2": "my_atan2"}.get(name, "my_pow")
            return E(f"{my_name}({x.my}, {y.my})", f"{lite_name}({x.lite}, {y.lite})", "float")
        if name in ("EXP", "TAN"):
            return E(f"{name}({x.my})", f"my_{name.lower()}({x.lite})", "float")
        if name in ("ABS", "FLOOR", "CEIL", "CEILING"):
            lite = {"CEILING": "ceil"}.get(name, name.lower())
            return E(f"{name}({x.my})", f"{lite}({x.lite})", "int" if integer else "float")
        if name == "SIGN":
            return E(f"SIGN({x.my})", f"sign({x.lite})", "int")
        if name in ("ROUND", "ROUND2"):
            digits = self.rng.choice([0, 1, 2, -1]) if name == "ROUND2" else None
            suffix = "" if digits is None else f", {digits}"
            return E(f"ROUND({x.my}{suffix})", f"my_round({x.lite}{suffix})", "int" if integer else "float")
        if name in ("DEGREES", "RADIANS"):
            return E(f"{name}({x.my})", f"{name.lower()}({x.lite})", "float")
        if name == "PI":
            return both("PI()", "float")
        args = [x] + [self.number(depth + 1) for _ in range(self.rng.choice([1, 1, 2]))]
        types = {a.type for a in args}
        lite = "max" if name == "GREATEST" else "min"
        return E(f"{name}({', '.join(a.my for a in args)})", f"{lite}({', '.join(a.lite for a in args)})",
                 "float" if "float" in types else "int")

    # strings

    def string(self, depth: int) -> E:
        options = [(4, lambda: both(f"objects.{self.rng.choice(STRING_COLUMNS)}", "str")), (3, self.str_literal),
                   (0.3, lambda: both("NULL", "null"))]
        if depth < self.MAX_DEPTH:
            options += [(1, lambda: self.case(depth, "string")), (1, lambda: self.coalesce(depth, "string")),
                        (0.5, lambda: self.if_(depth, "string"))]
        return self.choose(options)

    # shared choice constructs

    def value(self, depth: int, kind: str) -> E:
        return self.number(depth + 1) if kind == "number" else self.string(depth + 1)

    def result_type(self, parts: list[E], kind: str) -> str:
        types = {p.type for p in parts} - {"null"}
        if kind == "string":
            return "str"
        return "float" if "float" in types else "int" if types else "null"

    def case(self, depth: int, kind: str) -> E:
        branches = [(self.boolean(depth + 1), self.value(depth, kind)) for _ in range(self.rng.randint(1, 3))]
        default = self.value(depth, kind) if self.rng.random() < 0.7 else None
        if kind == "number" and self.rng.random() < 0.3:  # simple CASE x WHEN v
            x = self.number(depth + 1)
            whens = [(self.number(depth + 1), v) for _, v in branches]
            my = f"CASE {x.my} " + " ".join(f"WHEN {w.my} THEN {v.my}" for w, v in whens)
            lite = f"CASE {x.lite} " + " ".join(f"WHEN {w.lite} THEN {v.lite}" for w, v in whens)
        else:
            my = "CASE " + " ".join(f"WHEN {c.my} THEN {v.my}" for c, v in branches)
            lite = "CASE " + " ".join(f"WHEN {c.lite} THEN {v.lite}" for c, v in branches)
        if default is not None:
            my, lite = f"{my} ELSE {default.my}", f"{lite} ELSE {default.lite}"
        parts = [v for _, v in branches] + ([default] if default else [])
        return E(f"({my} END)", f"({lite} END)", self.result_type(parts, kind))

    def coalesce(self, depth: int, kind: str) -> E:
        args = [self.value(depth, kind) for _ in range(self.rng.randint(2, 3))]
        name = "IFNULL" if len(args) == 2 and self.rng.random() < 0.4 else "COALESCE"
        return E(f"{name}({', '.join(a.my for a in args)})", f"coalesce({', '.join(a.lite for a in args)})",
                 self.result_type(args, kind))

    def if_(self, depth: int, kind: str) -> E:
        c, a, b = self.boolean(depth + 1), self.value(depth, kind), self.value(depth, kind)
        return E(f"IF({c.my}, {a.my}, {b.my})", f"(CASE WHEN {c.lite} THEN {a.lite} ELSE {b.lite} END)",
                 self.result_type([a, b], kind))

    # conditions

    def boolean(self, depth: int) -> E:
        leaf = depth >= self.MAX_DEPTH
        options = [(5, lambda: self.compare(depth)), (2, lambda: self.compare_strings(depth)),
                   (1, lambda: self.compare_big(depth)), (1.5, lambda: self.between(depth)),
                   (1.5, lambda: self.in_list(depth)), (1.5, lambda: self.like(depth)),
                   (1, lambda: self.is_null(depth)), (0.2, lambda: both("TRUE", "bool")),
                   (0.2, lambda: both("NULL", "null"))]
        if not leaf:
            options += [(4, lambda: self.logic(depth)), (1.5, lambda: self.not_(depth)),
                        (0.5, lambda: self.xor(depth)), (0.7, lambda: self.is_truth(depth)),
                        (0.7, lambda: self.number(depth + 1))]  # a number as a condition: non-zero is true
        return self.choose(options)

    def compare(self, depth: int) -> E:
        a, b = self.number(depth + 1, bounded=False), self.number(depth + 1, bounded=False)
        op = self.rng.choice(["=", "!=", "<>", "<", "<=", ">", ">=", "<=>"])
        if op == "<=>":
            return E(f"({a.my} <=> {b.my})", f"({a.lite} IS {b.lite})", "bool")
        return E(f"({a.my} {op} {b.my})", f"({a.lite} {op} {b.lite})", "bool")

    def compare_strings(self, depth: int) -> E:
        a, b = self.string(depth + 1), self.string(depth + 1)
        op = self.rng.choice(["=", "!=", "<", "<=", ">", ">="])
        return E(f"({a.my} {op} {b.my})", f"({a.lite} {op} {b.lite} COLLATE GENERAL_CI)", "bool")

    def compare_big(self, depth: int) -> E:
        value = self.rng.choice(BIG_POOL + [170000000000000000])
        op = self.rng.choice(["=", "!=", "<", ">="])
        if self.rng.random() < 0.3:
            items = ", ".join(str(v) for v in self.rng.sample(BIG_POOL, 2))
            return both(f"(diaObjectId IN ({items}))", "bool")
        return both(f"(objects.diaObjectId {op} {value})", "bool")

    def between(self, depth: int) -> E:
        negate = "NOT " if self.rng.random() < 0.3 else ""
        if self.rng.random() < 0.25:
            x, lo, hi = self.string(depth + 1), self.string(depth + 1), self.string(depth + 1)
            return E(f"({x.my} {negate}BETWEEN {lo.my} AND {hi.my})",
                     f"({x.lite} COLLATE GENERAL_CI {negate}BETWEEN {lo.lite} AND {hi.lite})", "bool")
        x, lo, hi = self.number(depth + 1), self.number(depth + 1), self.number(depth + 1)
        return E(f"({x.my} {negate}BETWEEN {lo.my} AND {hi.my})",
                 f"({x.lite} {negate}BETWEEN {lo.lite} AND {hi.lite})", "bool")

    def in_list(self, depth: int) -> E:
        negate = "NOT " if self.rng.random() < 0.3 else ""
        strings = self.rng.random() < 0.35
        make = (lambda: self.string(depth + 1)) if strings else (lambda: self.number(depth + 1))
        x = make()
        items = [self.choose([(4, self.str_literal if strings else self.float_literal if self.rng.random() < 0.5
                                else self.int_literal), (1, make), (0.5, lambda: both("NULL", "null"))])
                 for _ in range(self.rng.randint(1, 4))]
        collate = " COLLATE GENERAL_CI" if strings else ""
        return E(f"({x.my} {negate}IN ({', '.join(i.my for i in items)}))",
                 f"({x.lite}{collate} {negate}IN ({', '.join(i.lite for i in items)}))", "bool")

    def like(self, depth: int) -> E:
        x = self.string(depth + 1)
        pattern = self.choose([(5, lambda: self.str_literal(LIKE_PATTERNS)), (1, lambda: self.string(depth + 1))])
        negate = "NOT " if self.rng.random() < 0.3 else ""
        return E(f"({x.my} {negate}LIKE {pattern.my})", f"({x.lite} {negate}LIKE {pattern.lite} ESCAPE '\\')",
                 "bool")

    def is_null(self, depth: int) -> E:
        x = self.choose([(3, lambda: self.number(depth + 1, bounded=False)), (1, lambda: self.string(depth + 1)),
                         (1, lambda: self.boolean(depth + 1))])
        negate = "NOT " if self.rng.random() < 0.4 else ""
        return E(f"({x.my} IS {negate}NULL)", f"({x.lite} IS {negate}NULL)", "bool")

    def is_truth(self, depth: int) -> E:
        x = self.boolean(depth + 1)
        test = self.rng.choice(["TRUE", "FALSE", "NOT TRUE", "NOT FALSE"])
        return E(f"({x.my} IS {test})", f"({x.lite} IS {test})", "bool")

    def logic(self, depth: int) -> E:
        a, b = self.boolean(depth + 1), self.boolean(depth + 1)
        op = self.rng.choice(["AND", "OR", "AND", "OR", "&&", "||"])
        lite = {"&&": "AND", "||": "OR"}.get(op, op)
        return E(f"({a.my} {op} {b.my})", f"({a.lite} {lite} {b.lite})", "bool")

    def not_(self, depth: int) -> E:
        a = self.boolean(depth + 1)
        return E(f"(NOT {a.my})", f"(NOT {a.lite})", "bool")

    def xor(self, depth: int) -> E:
        a, b = self.boolean(depth + 1), self.boolean(depth + 1)
        return E(f"({a.my} XOR {b.my})",
                 f"(CASE WHEN {a.lite} IS NULL OR {b.lite} IS NULL THEN NULL "
                 f"WHEN ({a.lite} <> 0) <> ({b.lite} <> 0) THEN 1 ELSE 0 END)", "bool")


def _filters(chunk: int) -> list[tuple[str, str]]:
    generator = Generator(random.Random(SEED * 1000 + chunk))
    out = []
    for _ in range(FILTERS_PER_CHUNK):
        where = generator.boolean(0)
        select = generator.rng.choice(["objects.diaObjectId", "*", "diaObjectId, objects.ra AS r"])
        out.append((f"SELECT {select} FROM objects WHERE {where.my}", where.lite))
    return out


@pytest.mark.parametrize("chunk", range(CHUNKS))
def test_compiled_filters_select_what_sqlite_selects(oracle: sqlite3.Connection, chunk: int) -> None:
    failures = []
    nontrivial = 0
    for sql, lite_where in _filters(chunk):
        compiled = compile_filter(sql)
        expected = np.zeros(N_ROWS, dtype=bool)
        for (index,) in oracle.execute(f"SELECT rowid - 1 FROM objects WHERE {lite_where}"):
            expected[index] = True
        per_row = np.array([compiled.matches(row, now_mjd=NOW) for row in ROWS])
        for row in ROWS:  # valid SQL must never need the safety net that turns a raise into NULL
            compiled._row_where.function(row, NOW)
        batch = ColumnBatch.from_rows(ROWS, compiled.where_columns)
        vectorised = compiled.matches_batch(batch, now_mjd=NOW)
        nontrivial += 0 < expected.sum() < N_ROWS
        for i in np.flatnonzero((per_row != expected) | (vectorised != expected)):
            failures.append(f"{sql}\n  SQLite: {lite_where}\n  row {i}: {ROWS[i]}\n"
                            f"  SQLite {expected[i]}, per-row {per_row[i]}, vectorised {vectorised[i]}")
            break
    assert not failures, f"{len(failures)} filters disagree; first ones:\n" + "\n\n".join(failures[:5])
    assert nontrivial >= FILTERS_PER_CHUNK // 5, "too few filters select some but not all rows"
