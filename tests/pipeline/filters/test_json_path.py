"""JSON_EXTRACT paths and results: MariaDB 10.11's answers (observed on 10.11.18), checked against SQLite's json_extract.

Expected MariaDB values below were read off a real MariaDB 10.11.18 server (Debian 12) with the
document in a `JSON` column. SQLite differs in documented ways, asserted here: it returns SQL
values (strings unquoted, JSON null as SQL NULL, true/false as 1/0, objects and arrays minified),
does not auto-wrap `[0]`, and orders any text above any number.

`random_classdict` and `random_path` are for the joins differential harness to reuse.
"""
from __future__ import annotations

import json
import random
import sqlite3
from typing import Any

import pytest

from pipeline.filters.json_path import DBL_MAX, Json, compare_binary, compare_json, compile_path, extract, to_number, to_text, unquote

DOC = json.dumps({"SN": 0.93, "cls": "SN", "s": "0.95", "n": None, "t": True, "f": False, "o": {"x": 1}, "arr": [1, 2],
                  "big": 12345678901234567890, "k y": "sp", "e": "0.5abc", "low": "sn", "pad": "SN  ", "ws": " SN",
                  "q": 'a"b', "uni": "\u00e9", "a-b": 5, "1a": 6, "a": {"b": {"c": 7}}, "half": "0.5"})


@pytest.fixture(scope="module")
def lite() -> sqlite3.Connection:
    return sqlite3.connect(":memory:")


def sqlite_view(found: Json | None) -> Any:
    """What SQLite's json_extract returns for the value MariaDB finds (the documented differences)."""
    if found is None or found.value is None:
        return None
    value = found.value
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)  # SQLite minifies the document's own text
    if isinstance(value, int) and not -2 ** 63 <= value < 2 ** 63:
        return float(value)  # SQLite's INTEGER is 64-bit
    return value


def auto_wrapped(document: Any, legs: tuple[str | int, ...]) -> bool:
    """Whether the path matches only through [0] on a non-array (MariaDB/MySQL auto-wrap, SQLite does not)."""
    value, wrapped = document, False
    for leg in legs:
        if isinstance(leg, str):
            if not isinstance(value, dict) or leg not in value:
                return False
            value = value[leg]
        elif not isinstance(value, list):
            if leg != 0:
                return False
            wrapped = True
        elif leg >= len(value):
            return False
        else:
            value = value[leg]
    return wrapped


# --- paths -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "legs"), [
    ("$", ()), ("$.SN", ("SN",)), ('$."k y"', ("k y",)), ("$.a.b.c", ("a", "b", "c")), ("$.arr[1]", ("arr", 1)),
    ("$[0]", (0,)), ("$.1a", ("1a",)), ("$.a-b", ("a-b",)), ("$.\u00e9", ("\u00e9",)), ('$."a\\"b"', ('a"b',)),
    ('$."\\u00e9"', ("\u00e9",)), ("$.a$", ("a$",)),
])
def test_paths_mariadb_accepts_compile(text: str, legs: tuple[str | int, ...]) -> None:
    assert compile_path(text).legs == legs


@pytest.mark.parametrize(("text", "message"), [
    ("SN", "JSON path 'SN', position 1: a JSON path starts with $"),
    ("lax $.a", "position 1: a JSON path starts with $ (lax/strict modes are not supported)"),
    ("$.*", "position 3: unsupported .* wildcards; only $, .key, .\"quoted key\" and [n] are supported"),
    ("$[*]", "position 3: unsupported [*] wildcards"),
    ("$**.a", "position 2: unsupported ** wildcards"),
    ("$.arr[last]", "position 7: unsupported [last]"),
    ("$.arr[-1]", "position 7: unsupported negative indexes"),
    ("$.arr[1 to 2]", "position 7: unsupported ranges"),
    ("$.arr[x]", "position 7: unsupported index [x]"),
    ("$.a b", "position 4: expected . or [ here, found ' ' (spaces are not allowed)"),
    (" $.a", "position 1: a JSON path starts with $"),
    ("$.", "position 3: a key is missing after ."),
    ("$..a", "position 3: a key is missing after . (quote keys with spaces"),
    ("$.arr[1", "position 6: the [ has no closing ]"),
    ('$."a', "position 3: the quoted key has no closing \""),
    ('$."\\q"', "position 4: bad escape in the quoted key"),
    ("$x", "position 2: expected . or [ here, found 'x'"),
])
def test_unsupported_paths_are_refused_with_the_position(text: str, message: str) -> None:
    with pytest.raises(ValueError) as refused:
        compile_path(text)
    assert message in str(refused.value)
    assert "\n" not in str(refused.value)


# --- extraction: MariaDB's text, SQLite's value ------------------------------------------------

EXTRACT_CASES: list[tuple[str, str | None]] = [  # path, what MariaDB 10.11.18 returned (None: SQL NULL)
    ("$.SN", "0.93"), ("$.cls", '"SN"'), ("$.s", '"0.95"'), ("$.n", "null"), ("$.t", "true"), ("$.f", "false"),
    ("$.o", '{"x": 1}'), ("$.arr", "[1, 2]"), ("$.arr[1]", "2"), ("$.arr[5]", None), ("$.big", "12345678901234567890"),
    ('$."k y"', '"sp"'), ("$.missing", None), ("$.q", '"a\\"b"'), ("$.uni", '"\\u00e9"'), ("$.a-b", "5"), ("$.1a", "6"),
    ("$.a.b.c", "7"), ("$.a.b", '{"c": 7}'), ("$.a.x.y", None), ("$.SN.x", None),
    ("$.o[0]", '{"x": 1}'), ("$.SN[0]", "0.93"), ("$.SN[1]", None), ("$[0].SN", "0.93"),  # auto-wrap
]


@pytest.mark.parametrize(("path", "mariadb"), EXTRACT_CASES)
def test_extract_gives_mariadb_text_and_sqlite_differs_only_as_documented(lite: sqlite3.Connection, path: str, mariadb: str | None) -> None:
    compiled = compile_path(path)
    found = extract(DOC, compiled)
    assert to_text(found) == mariadb
    sqlite = lite.execute("SELECT json_extract(?, ?)", (DOC, path)).fetchone()[0]
    if auto_wrapped(json.loads(DOC), compiled.legs):
        assert sqlite is None and found is not None  # SQLite does not auto-wrap
    else:
        assert sqlite == sqlite_view(found)


def test_sql_null_documents_and_invalid_json_give_sql_null() -> None:
    path = compile_path("$.a")
    assert extract(None, path) is None
    assert extract("{not json", path) is None  # MariaDB: NULL and a warning
    assert extract('{"a": NaN}', path) is None
    assert extract(b'{"a": 1}', path) == Json(1)
    assert extract({"a": None}, path) == Json(None)  # JSON null found: not SQL NULL
    assert extract('{"a": 123456789012345678901234567890}', path) == Json(1.2345678901234568e+29)  # beyond 64 bits: a double


# --- comparisons ---------------------------------------------------------------------------------

COMPARE_CASES: list[tuple[str, str, Any, bool | None, str]] = [
    # path, op, SQL value, MariaDB 10.11.18's answer, how SQLite differs ("" if it agrees)
    ("$.SN", ">", 0.8, True, ""),
    ("$.SN", "=", 0.93, True, ""),
    ("$.SN", "<", 0.5, False, ""),
    ("$.cls", "=", "SN", True, ""),
    ("$.cls", "=", "sn", False, ""),
    ("$.cls", ">", "A", True, ""),
    ("$.cls", "<", "sn", True, ""),
    ("$.cls", "<", 0, False, ""),
    ("$.cls", ">", 0, False, "text sorts above every number in SQLite; 'SN' is 0 in MariaDB"),
    ("$.low", "=", "SN", False, ""),
    ("$.pad", "=", "SN", True, "SQLite keeps trailing spaces; utf8mb4_bin pads"),
    ("$.ws", "=", "SN", False, ""),
    ("$.s", ">", 0.9, True, ""),
    ("$.half", ">", 0.8, False, "SQLite: text above number"),
    ("$.s", "=", "0.95", True, ""),
    ("$.e", "=", 0.5, True, "SQLite compares text with a number: never equal"),
    ("$.n", ">", -1, True, "SQLite: JSON null is SQL NULL"),
    ("$.t", "=", 1, True, ""),
    ("$.t", "=", "true", True, "SQLite: true is the integer 1"),
    ("$.f", "=", 0, True, ""),
    ("$.o", "=", 0, True, "SQLite: an object is its text, above every number"),
    ("$.arr", "=", 0, True, "SQLite: an array is its text"),
    ("$.a.b", "=", '{"c": 7}', True, "SQLite minifies: {\"c\":7}"),
    ("$.SN", "=", "0.93", True, "SQLite: a REAL never equals TEXT"),
    ("$.uni", "=", "\u00e9", True, ""),
    ("$.q", "=", 'a"b', True, ""),
    ("$.big", "=", 12345678901234567890.0, True, ""),
    ("$.missing", "=", "x", None, ""),
    ("$.missing", "<=>", None, True, ""),
    ("$.cls", "<=>", None, False, ""),
]


@pytest.mark.parametrize(("path", "op", "sql_value", "mariadb", "sqlite_differs"), COMPARE_CASES)
def test_comparisons_follow_mariadb(lite: sqlite3.Connection, path: str, op: str, sql_value: Any,
                                    mariadb: bool | None, sqlite_differs: str) -> None:
    assert compare_json(extract(DOC, compile_path(path)), sql_value, op) is mariadb
    sqlite_op = "IS" if op == "<=>" else op
    sqlite = lite.execute(f"SELECT json_extract(?, ?) {sqlite_op} ?", (DOC, path, sql_value)).fetchone()[0]
    sqlite = None if sqlite is None else bool(sqlite)
    assert (sqlite != mariadb) == bool(sqlite_differs), sqlite_differs or f"SQLite gave {sqlite}"


def test_mysql_differs_from_mariadb_where_documented() -> None:
    """MySQL's answers (by its JSON type order) that this engine does not give, kept visible."""
    cases = [("$.half", ">", 0.8, True), ("$.n", ">", -1, False), ("$.t", "=", 1, False), ("$.SN", "=", "0.93", False)]
    for path, op, sql_value, mysql in cases:
        assert compare_json(extract(DOC, compile_path(path)), sql_value, op) is (not mysql)


def test_comparison_refusals_are_programming_errors() -> None:
    found = extract(DOC, compile_path("$.SN"))
    with pytest.raises(ValueError, match="comparison 'LIKE'"):
        compare_json(found, "x", "LIKE")
    with pytest.raises(TypeError, match="two JSON values"):
        compare_json(found, found, "=")  # type: ignore[arg-type]


@pytest.mark.parametrize(("value", "number"), [  # MariaDB 10.11.18: JSON_EXTRACT(d, '$.k') + 0
    (" 1.5", 1.5), ("inf", 0.0), ("1e999", DBL_MAX), (".5", 0.5), ("+1", 1.0), ("0x10", 0.0), ("-2e-1x", -0.2),
    ("1e", 1.0), ("", 0.0), ("SN", 0.0), ([0.9], 0.0), ({"a": 1}, 0.0), (None, 0.0), (True, 1.0), (False, 0.0),
    (-9223372036854775809, -9.223372036854776e18), (10 ** 400, DBL_MAX),
])
def test_to_number_is_mariadb_val_real(value: Any, number: float) -> None:
    assert to_number(Json(value)) == number
    assert to_number(None) is None


def test_unquote_and_binary_comparison() -> None:
    assert unquote(Json('a"b')) == 'a"b'
    assert unquote(Json(None)) == "null"  # MariaDB: JSON_UNQUOTE of JSON null is the text null
    assert unquote(Json({"x": 1})) == '{"x": 1}'
    assert unquote(None) is None
    assert unquote('"x') == '"x'  # not a JSON string: unchanged
    assert unquote('"\\u00e9"') == "\u00e9"
    assert unquote("plain") == "plain"
    assert compare_binary("SN", "sn", "=") is False  # JSON_UNQUOTE(...) = 'sn': utf8mb4_bin is case-sensitive
    assert compare_binary("SN  ", "SN", "=") is True
    assert compare_binary(None, "SN", "=") is None
    assert compare_binary(None, None, "<=>") is True


# --- random classdicts and paths, for the differential harness -----------------------------------

KEYS = ("SN", "AGN", "TDE", "SN Ia", "cls", "p_1", "score", "\u00e9t\u00e9", "a-b", "1a", "version")


def random_scalar(rng: random.Random) -> Any:
    kind = rng.randrange(7)
    if kind == 0:
        return round(rng.random(), rng.randrange(1, 6))
    if kind == 1:
        return rng.randrange(-1000, 1000)
    if kind == 2:
        return rng.choice(["SN", "sn", "AGN", "0.9", "0.5abc", "", " SN", "SN  ", "\u00e9"])
    if kind == 3:
        return rng.choice([True, False])
    if kind == 4:
        return None
    if kind == 5:
        return rng.uniform(-1e6, 1e6)
    return rng.getrandbits(63) * rng.choice([1, -1])


def random_value(rng: random.Random, depth: int) -> Any:
    roll = rng.random()
    if depth <= 0 or roll < 0.6:
        return random_scalar(rng)
    if roll < 0.8:
        return [random_value(rng, depth - 1) for _ in range(rng.randrange(4))]
    return random_classdict(rng, depth - 1)


def random_classdict(rng: random.Random, depth: int = 2) -> dict[str, Any]:
    """A classdict like classifiers send: scores, labels, nested objects and arrays, nulls, booleans."""
    return {key: random_value(rng, depth) for key in rng.sample(KEYS, rng.randrange(1, 6))}


def random_path(rng: random.Random, document: Any) -> str:
    """A supported path that usually exists in `document` (sometimes not, sometimes through auto-wrap)."""
    parts, value = ["$"], document
    for _ in range(rng.randrange(1, 4)):
        if isinstance(value, dict) and value and rng.random() < 0.9:
            key = rng.choice(sorted(value))
            value = value[key]
        elif isinstance(value, list) and value and rng.random() < 0.9:
            index = rng.randrange(len(value))
            parts.append(f"[{index}]")
            value = value[index]
            continue
        elif rng.random() < 0.5:
            parts.append(f"[{rng.randrange(2)}]")
            value = None
            continue
        else:
            key, value = rng.choice(KEYS), None
        parts.append(f".{key}" if key.replace("_", "").isalnum() and not key[0].isdigit() else f'."{key}"')
    return "".join(parts)


def test_random_classdicts_agree_with_sqlite_but_for_the_documented_differences(lite: sqlite3.Connection) -> None:
    rng = random.Random(14)
    checked = wrapped = 0
    for _ in range(2000):
        document = random_classdict(rng)
        text, path = json.dumps(document, ensure_ascii=False), random_path(rng, document)  # SQLite matches keys unescaped
        compiled = compile_path(path)
        found = extract(text, compiled)
        sqlite = lite.execute("SELECT json_extract(?, ?), json_extract(?, ?) > 0.5", (text, path, text, path)).fetchone()
        if auto_wrapped(document, compiled.legs):
            assert sqlite[0] is None and found is not None
            wrapped += 1
            continue
        assert sqlite[0] == sqlite_view(found), path
        if found is not None and isinstance(found.value, (int, float)) and not isinstance(found.value, bool):
            assert compare_json(found, 0.5, ">") is bool(sqlite[1]), path  # numbers compare alike
        checked += 1
    assert checked > 1500 and wrapped > 0
