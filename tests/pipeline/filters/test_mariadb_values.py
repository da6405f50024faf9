"""Selected values against MariaDB: what a filter's output record holds, per row, for expressions of each class.

MariaDB returns a DECIMAL rounded to its declared decimals (a Python Decimal through the client);
the filter gives the same number as a double, or as an exact integer when it has no decimals.
Rows whose evaluation aborts MariaDB (an out-of-range error) are left out, as in the WHERE test.
"""
from __future__ import annotations

from decimal import Decimal

import pymysql
import pytest

from pipeline.filters import compile_filter
from .mariadb_cases import rows
from .mariadb_server import MariaDB

ROWS = rows()
EXPRESSIONS = [
    "nPosDiaSources / nDiaSources", "nDiaSources * 0.1", "0.1 + 0.2", "nDiaSources / 7 * 1000", "1 / 7 * 1000000000",
    "nPosDiaSources / nDiaSources + latestR", "ROUND(latestR)", "ROUND(latestR, 2)", "ROUND(nDiaSources / 4)",
    "ROUND(nPosDiaSources / nDiaSources, 3)", "TRUNCATE(latestR, 1)", "TRUNCATE(nDiaSources / 3, 2)", "FLOOR(nDiaSources / 4)",
    "CEIL(nDiaSources * 0.3)", "nDiaSources DIV 0.7", "MOD(nDiaSources, 0.7)", "nDiaSources & 6", "~nDiaSources",
    "nDiaSources << 3", "-nDiaSources | 1", "CAST(latestR AS SIGNED)", "CAST(latestR AS DECIMAL(6,2))",
    "CAST(nDiaSources AS CHAR)", "CAST(-nDiaSources AS UNSIGNED)", "nDiaSources + '1.5'", "IF(nDiaSources > 3, 0.5, 1.25)",
    "COALESCE(nPosDiaSources / nDiaSources, 0.5)", "GREATEST(nDiaSources / 3, 0.5)", "0x1F + nDiaSources",
    "tns_name = 'sn'", "tns_name < latestPairColourBands", "nPosDiaSources / nDiaSources = 0.6667", "ABS(-nDiaSources / 7)",
    "SIGN(nPosDiaSources / nDiaSources - 0.5)", "(nDiaSources | 0) - 3",
]


def _theirs(server: MariaDB, expression: str) -> dict[int, object] | None:
    """Row index -> value; None for a row whose evaluation aborts (each row is then asked alone)."""
    query = f"SELECT row_index, {expression} FROM values_wide objects"
    try:
        return dict(server.execute(query))
    except pymysql.MySQLError:
        values: dict[int, object] = {}
        for index in range(len(ROWS)):
            try:
                values.update(server.execute(f"{query} WHERE row_index = {index}"))
            except pymysql.MySQLError:
                continue
        return values


def _same(ours: object, theirs: object) -> bool:
    """Equal values: a DECIMAL as the double nearest it, or exactly when it is integral."""
    if isinstance(theirs, Decimal):
        return Decimal(ours) == theirs if isinstance(ours, int) else ours == float(theirs)
    return ours == theirs and isinstance(ours, str) == isinstance(theirs, str)


@pytest.fixture(scope="module")
def server(mariadb: MariaDB) -> MariaDB:
    mariadb.load_objects("values_wide", ROWS, widen_float=True)
    return mariadb


@pytest.mark.parametrize("expression", EXPRESSIONS)
def test_selected_values_are_mariadb_s(server: MariaDB, expression: str) -> None:
    theirs = _theirs(server, expression)
    compiled = compile_filter(f"SELECT {expression} AS v FROM objects")
    wrong = [(i, ROWS[i].get("nDiaSources"), ours, theirs[i]) for i in sorted(theirs)
             if not _same(ours := compiled.project(ROWS[i])["v"], theirs[i])]
    assert not wrong, f"{expression}: {len(wrong)} rows differ, e.g. (row, nDiaSources, ours, MariaDB's) {wrong[:3]}"
