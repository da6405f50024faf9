"""JSON_EXTRACT and JSON_UNQUOTE as Lasair's database (MariaDB 10.11) evaluates them.

Filters such as `JSON_EXTRACT(needle.classdict, "$.SN") > 0.8` must select what they select on
Lasair, so this module follows MariaDB, not MySQL, where the two differ. Every rule below was
observed on MariaDB 10.11.18 (Debian 12's `mariadb-server-core`) with a `JSON` column, which
MariaDB stores as `LONGTEXT COLLATE utf8mb4_bin`.

Paths (`compile_path`, refused at compile time with the 1-based position; MariaDB would return
NULL for every row instead): `$`, `.key`, `."quoted key"` (JSON string escapes), `[n]`. An
unquoted key is any run of characters other than space, `.`, `[`, `]`, `"`, `*` (MariaDB takes
`$.1a`, `$.a-b`, `$.é`; MySQL wants ECMAScript identifiers there). Refused: wildcards `.*`,
`[*]`, `**`, `[last]`, negative indexes, ranges `[m to n]`, `lax`/`strict`, spaces.

Extraction (`extract`): SQL NULL when the document is NULL or not JSON, or the path matches
nothing; otherwise the JSON value found (`Json`; a JSON `null` found is `Json(None)`, not SQL
NULL). `[0]` on a value that is not an array is the value itself, `[n>0]` matches nothing
(MariaDB and MySQL auto-wrap; SQLite does not: NULL).

What the value is in SQL (MariaDB returns the JSON text as a string, typed JSON):
* In SELECT: `to_text` - the JSON text: strings quoted and escaped, objects and arrays as
  `{"a": 1, "b": [1, 2]}`. MariaDB copies scalars verbatim from the document; this re-serialises
  with Python's `json.dumps`, which gives the same text for documents written by `json.dumps`
  (Lasair's client) but e.g. `100.0` for a document that spelt `1e2`.
* Against a number (`=, <>, <, <=, >, >=, <=>`, BETWEEN/IN with numbers, arithmetic):
  `to_number`, MariaDB's `val_real`: a number as a double, a string's leading numeric prefix
  (`"0.95"` -> 0.95, `"0.5abc"` -> 0.5, `"SN"` -> 0), true -> 1, false/null/object/array -> 0;
  overflow -> +-1.7976931348623157e308. So `{"SN": null}` makes `JSON_EXTRACT(d,'$.SN') > -1` true.
* Against a string with a comparison operator: a JSON string is unescaped first, anything else
  keeps its JSON text (`true` = 'true', `1.0` <> '1', `{"c": 7}` = '{"c": 7}'); compared
  binary (case-sensitive, code point order), trailing spaces ignored (utf8mb4_bin is PAD SPACE):
  `"SN"` = 'SN', `"SN"` <> 'sn', `"SN  "` = 'SN', `" SN"` <> 'SN'.
* IN/BETWEEN with strings, LIKE and string functions see the quoted `to_text`: `IN ('SN')` and
  `LIKE 'S%'` never match the JSON string "SN" (use JSON_UNQUOTE).
* `JSON_UNQUOTE` (`unquote`): a JSON string's content, other values' JSON text; a plain string
  that is not a quoted JSON string comes back unchanged. Its result is utf8mb4_bin too, so it
  compares case-sensitively (`compare_binary`), unlike the engine's other strings.
* JSON against JSON (two JSON_EXTRACTs compared) is not modelled: refuse it.

MySQL 8 ("Comparison and Ordering of JSON Values") differs: the non-JSON side is converted to
JSON and values of different JSON types order by type, BOOLEAN > ARRAY > OBJECT > STRING >
INTEGER/DOUBLE > NULL, so there `"0.5"` > 0.8 is true, JSON null > -1 is false, true = 1 is
false, 0.93 = '0.93' is false (string vs number), and objects/arrays never equal 0. Strings
compare as utf8mb4_bin there too, and MySQL normalises the text of numbers it returns.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any, NamedTuple

import orjson

DBL_MAX = 1.7976931348623157e308
OPERATORS = ("=", "<>", "!=", "<", "<=", ">", ">=", "<=>")
_KEY_STOP = frozenset(' .[]"*\t\r\n')
_NUMERIC_PREFIX = re.compile(r"\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_SUPPORTED = "only $, .key, .\"quoted key\" and [n] are supported"


class JsonPath(NamedTuple):
    text: str
    legs: tuple[str | int, ...]  # a str is an object key, an int an array index


@dataclass(frozen=True, slots=True)
class Json:
    """A JSON value JSON_EXTRACT found; `Json(None)` is JSON null (SQL NULL is None itself)."""

    value: Any


def _refuse(text: str, at: int, cause: str) -> ValueError:
    return ValueError(f"JSON path {text!r}, position {at + 1}: {cause}")


def compile_path(text: str) -> JsonPath:
    """The path's legs; ValueError naming the 1-based position and cause if it is not supported."""
    if not text.startswith("$"):
        raise _refuse(text, 0, "a JSON path starts with $" + (" (lax/strict modes are not supported)" if text.startswith(("lax", "strict")) else ""))
    legs: list[str | int] = []
    at = 1
    while at < len(text):
        char = text[at]
        if char == ".":
            key, at = _key(text, at + 1)
            legs.append(key)
        elif char == "[":
            index, at = _index(text, at + 1)
            legs.append(index)
        elif char == "*":
            raise _refuse(text, at, f"unsupported ** wildcards; {_SUPPORTED}")
        else:
            raise _refuse(text, at, f"expected . or [ here, found {char!r}" + (" (spaces are not allowed)" if char.isspace() else ""))
    return JsonPath(text, tuple(legs))


def _key(text: str, at: int) -> tuple[str, int]:
    if at >= len(text):
        raise _refuse(text, at, "a key is missing after .")
    if text[at] == '"':
        end = at + 1
        while end < len(text) and text[end] != '"':
            end += 2 if text[end] == "\\" else 1
        if end >= len(text):
            raise _refuse(text, at, "the quoted key has no closing \"")
        try:
            return json.loads(text[at:end + 1]), end + 1
        except json.JSONDecodeError as exc:
            raise _refuse(text, at + exc.pos, f"bad escape in the quoted key ({exc.msg})") from None
    if text[at] == "*":
        raise _refuse(text, at, f"unsupported .* wildcards; {_SUPPORTED}")
    end = at
    while end < len(text) and text[end] not in _KEY_STOP:
        end += 1
    if end == at:
        raise _refuse(text, at, f"a key is missing after . (quote keys with spaces: .\"my key\"); {_SUPPORTED}")
    return text[at:end], end


def _index(text: str, at: int) -> tuple[int, int]:
    close = text.find("]", at)
    if close < 0:
        raise _refuse(text, at - 1, "the [ has no closing ]")
    inside = text[at:close]
    if not (inside.isascii() and inside.isdigit()) or len(inside) > 10:
        what = ("[*] wildcards" if inside == "*" else "[last]" if inside.startswith("last")
                else "negative indexes" if inside.startswith("-") else "ranges" if " to " in inside else f"index [{inside}]")
        raise _refuse(text, at, f"unsupported {what}; {_SUPPORTED} (n a non-negative integer)")
    return int(inside), close + 1


def parse_json(text: str | bytes) -> Any:
    """A JSON document's value; ValueError if it is not JSON (NaN and Infinity are not JSON).

    orjson reads integers beyond 64 bits as doubles (MariaDB would print their digits verbatim).
    """
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        pass  # orjson stops at 64-bit integers; MariaDB and Python take any
    try:
        return json.loads(text, parse_constant=_not_json)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"not JSON: {exc}") from None


def _not_json(name: str) -> Any:
    raise json.JSONDecodeError(f"{name} is not JSON", name, 0)


def extract(document: str | bytes | dict[str, Any] | list[Any] | None, path: JsonPath) -> Json | None:
    """JSON_EXTRACT(document, path) for one path: a document is JSON text or an already parsed object/array."""
    if document is None:
        return None
    if isinstance(document, (str, bytes)):
        try:
            document = parse_json(document)
        except ValueError:
            return None  # MariaDB: NULL and a warning
    value: Any = document
    for leg in path.legs:
        if isinstance(leg, str):
            if not isinstance(value, dict) or leg not in value:
                return None
            value = value[leg]
        elif isinstance(value, list):
            if leg >= len(value):
                return None
            value = value[leg]
        elif leg != 0:
            return None
    return Json(value)


def to_text(found: Json | None) -> str | None:
    """The string MariaDB returns for a JSON value: what SELECT outputs and LIKE/IN/BETWEEN with strings see."""
    return None if found is None else json.dumps(found.value)


def unquote(found: Json | str | None) -> str | None:
    """JSON_UNQUOTE: a JSON string's content; other JSON values as their text; plain text unchanged."""
    if found is None:
        return None
    if isinstance(found, Json):
        return found.value if isinstance(found.value, str) else to_text(found)
    if found.startswith('"'):
        try:
            inner = json.loads(found)
        except json.JSONDecodeError:
            return found
        return inner if isinstance(inner, str) else found
    return found


def to_number(found: Json | None) -> float | None:
    """The double MariaDB compares with a number (its val_real); None for SQL NULL."""
    return None if found is None else _real(found.value)


def _real(value: Any) -> float:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)):
        try:
            return float(value)
        except OverflowError:
            return DBL_MAX if value > 0 else -DBL_MAX
    if isinstance(value, str):
        prefix = _NUMERIC_PREFIX.match(value)
        if prefix is None:
            return 0.0
        number = float(prefix.group())
        return number if math.isfinite(number) else math.copysign(DBL_MAX, number)
    return 0.0


def compare_binary(left: str | None, right: str | None, op: str) -> bool | None:
    """Two strings compared as utf8mb4_bin does: code point order, trailing spaces ignored; NULL-aware."""
    if left is None or right is None:
        return (left is None and right is None) if op == "<=>" else None
    return _apply(op, left.rstrip(" "), right.rstrip(" "))


def compare_json(found: Json | None, sql_value: int | float | str | None, op: str) -> bool | None:
    """`JSON_EXTRACT(...) op sql_value` as MariaDB evaluates it (None is SQL NULL); write `a > json` as `json < a`."""
    if op not in OPERATORS:
        raise ValueError(f"comparison {op!r} is not one of {', '.join(OPERATORS)}")
    if isinstance(sql_value, Json):
        raise TypeError("comparing two JSON values is not modelled (MariaDB compares them unlike MySQL); refuse it")
    if found is None or sql_value is None:
        return (found is None and sql_value is None) if op == "<=>" else None
    if isinstance(sql_value, str):
        text = found.value if isinstance(found.value, str) else to_text(found)
        return compare_binary(text, sql_value, op)
    return _apply(op, _real(found.value), float(sql_value))


def _apply(op: str, left: Any, right: Any) -> bool:
    if op in ("=", "<=>"):
        return bool(left == right)
    if op in ("<>", "!="):
        return bool(left != right)
    if op == "<":
        return bool(left < right)
    if op == "<=":
        return bool(left <= right)
    if op == ">":
        return bool(left > right)
    return bool(left >= right)
