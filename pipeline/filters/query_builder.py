"""Lasair's three-part filter form: `selected`, `tables`, `conditions` -> one SELECT.

Lasair's web form and API store a filter as three strings and build the SQL with
`query_builder.build_query` (lsst-uk/lasair-lsst, webserver/lasair/query_builder.py); this
module builds the same text, so a filter pasted from Lasair in that form means what it meant
there, and applies Lasair's `check_query` refusals first. Where Lasair is silent we say why:
an unrecognised table token is refused naming it (Lasair ignores it, which turns a typo into a
filter over every object), as is a token whose table has no data source here yet.

As in Lasair: single quotes become double quotes in `selected` and `conditions`; the text
`objects_ext` becomes `objects` in all three; tokens are trimmed and lower-cased; `objects` is
always first; the user's conditions are appended, unparenthesised, as the last AND term (so an
OR there binds as MySQL binds it), or after the WHERE when they start with ORDER.
"""
from __future__ import annotations

import re
from collections.abc import Collection

from .errors import FilterError

_FORBIDDEN_STRINGS = ("#", "/*", "*/", ";", "||", "\\")
_SELECT_FORBIDDEN_WORDS = (
    "create", "select", "from", "where", "join", "inner", "outer", "with", "high_priority", "straight_join",
    "sql_small_result", "sql_big_result", "sql_buffer_result", "sql_no_cache", "sql_calc_found_rows", "sleep",
)
_WHERE_FORBIDDEN_WORDS = ("create", "select", "union", "exists", "window", "for", "into", "outfile", "dumpfile")
_WORD_SPLIT = re.compile(r"\s|\(|\)|\{|\}")
_LEADING_COMMENT = re.compile(r"^\S*\-+\s*.*")  # Lasair's own "remove comments" before the word check


def check_query(selected: str, conditions: str | None) -> None:
    """Lasair's `check_query` refusals (its per-user watchlist/area permission checks aside)."""
    if not selected.strip():
        raise FilterError("the SELECT part cannot be blank: try *")
    for text, clause in ((selected, "SELECT"), (conditions or "", "WHERE")):
        for s in _FORBIDDEN_STRINGS:
            if s in text:
                raise FilterError(f"cannot use {s} in the {clause} clause")
    words = _WORD_SPLIT.split(selected.lower())
    for word in _SELECT_FORBIDDEN_WORDS:
        if word in words:
            raise FilterError(f"cannot use the word {word.upper()} in the SELECT clause")
    if conditions:
        stripped = _LEADING_COMMENT.sub("", conditions)
        words = _WORD_SPLIT.split(stripped.lower())
        for word in _WHERE_FORBIDDEN_WORDS:
            if word in words:
                raise FilterError(f"cannot use the word {word.upper()} in the WHERE clause")
        for word in ("limit", "offset"):  # case-sensitive, as Lasair's test
            if word in stripped:
                raise FilterError(f"do not put {word.upper()} in the WHERE clause: a stream delivers every match")


def build_query(selected: str, tables: str, conditions: str | None, *, available: Collection[str],
                tns_watchlist_id: int) -> str:
    """The SQL Lasair builds from the three parts, after `check_query`.

    `available`: the context tables that have a data source here; a token needing another is
    refused naming it. `tns_watchlist_id`: the watchlist the `crossmatch_tns` token joins through
    (Lasair's TNS_WATCHLIST_ID).
    """
    check_query(selected, conditions)
    selected = selected.replace("'", '"').replace("objects_ext", "objects")
    conditions = conditions.replace("'", '"').replace("objects_ext", "objects") if conditions else conditions
    tokens = [t.strip().lower() for t in tables.replace("objects_ext", "objects").split(",")]
    sherlock = tns = False
    watchlist: int | None = None
    areas: list[str] = []
    topics: list[str] = []
    for token in tokens:
        kind, colon, rest = token.partition(":")
        if token in ("", "objects"):
            continue
        if token == "sherlock_classifications":
            sherlock = True
        elif token == "crossmatch_tns":
            tns = True
        elif colon and kind == "watchlist":
            watchlist = _ids(token, rest, "watchlist:N")[0]
        elif colon and kind in ("area", "watchmap"):
            areas = [str(i) for i in _ids(token, rest, f"{kind}:N or {kind}:N&M")]  # a later token replaces
        elif colon and kind == "annotator":
            found = [t.strip() for t in rest.split("&")]
            if not all(re.fullmatch(r"\w+", t) for t in found):
                raise FilterError(f"table token {token!r} is not of the form annotator:topic or annotator:a&b")
            topics += found
        else:
            raise FilterError(f"unknown table token {token!r}: expected objects, sherlock_classifications, "
                              "crossmatch_tns, watchlist:N, area:N (or area:N&M, watchmap:N) or annotator:topic")
    if tns and watchlist is not None:
        raise FilterError("cannot have both watchlist and crossmatch_tns in the tables (both join watchlist_hits)")
    needed = {"sherlock_classifications": sherlock, "watchlist_hits": watchlist is not None or tns,
              "area_hits": bool(areas), "crossmatch_tns": tns, "annotations": bool(topics)}
    missing = [table for table, used in needed.items() if used and table not in available]
    if missing:
        raise FilterError(f"no data source for {', '.join(missing)} yet: filters joining "
                          f"{'it' if len(missing) == 1 else 'them'} cannot be saved")

    names, clauses = ["objects"], []
    if sherlock:
        names.append("sherlock_classifications")
        clauses.append("objects.diaObjectId=sherlock_classifications.diaObjectId")
    if watchlist is not None:
        names.append("watchlist_hits")
        clauses += ["objects.diaObjectId=watchlist_hits.diaObjectId", f"watchlist_hits.wl_id={watchlist}"]
    if len(areas) == 1:
        names.append("area_hits")
        clauses += ["objects.diaObjectId=area_hits.diaObjectId", f"area_hits.ar_id={areas[0]}"]
    elif areas:
        for i, area in enumerate(areas):
            names.append(f"area_hits as ar{i}")
            clauses += [f"objects.diaObjectId=ar{i}.diaObjectId", f"ar{i}.ar_id={area}"]
    if tns:
        names += ["watchlist_hits", "crossmatch_tns"]
        clauses += ["objects.diaObjectId=watchlist_hits.diaObjectId", f"watchlist_hits.wl_id={int(tns_watchlist_id)}",
                    "watchlist_hits.name=crossmatch_tns.tns_name"]
    for topic in topics:
        names.append(f"annotations AS {topic}")
        clauses += [f"objects.diaObjectId={topic}.diaObjectId", f'{topic}.topic="{topic}"']
    order = ""
    if conditions:
        if conditions.lower().strip().startswith("order"):
            order = " " + conditions
        elif conditions.strip():
            clauses.append(conditions)
    sql = f"SELECT {selected} \nFROM {', '.join(names)}"
    if clauses:
        sql += " \nWHERE\n " + " AND\n ".join(clauses)
    return sql + order


def _ids(token: str, text: str, form: str) -> list[int]:
    try:
        ids = [int(part) for part in text.split("&")]
    except ValueError:
        raise FilterError(f"table token {token!r} is not of the form {form} (N an integer id)") from None
    if len(ids) > 1 and form.startswith("watchlist"):
        raise FilterError(f"table token {token!r}: one watchlist per filter")
    return ids
