"""Differential test: compiled filters (per row and vectorised) against MariaDB 10.11, Lasair's database.

Each filter's WHERE runs in MariaDB over the same rows, in an `objects` table with Lasair's column
types, and the rows it selects must be those the compiled filter selects, per row and vectorised.
Two stated differences are taken out and counted (pipeline/filters/README.md):

* FLOAT columns keep double precision here: the oracle is the table with those columns widened
  to DOUBLE; filters that differ only against Lasair's single-precision table are counted apart.
* A runtime overflow makes that row's expression NULL here, where MariaDB aborts the query: the
  rows whose evaluation aborts MariaDB (tried one by one) are left out of the comparison.

Run with `-s` to see the tally (filters, rows compared, differences by class).
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pymysql
import pytest

from pipeline.filters import ColumnBatch, FilterError, compile_filter, vector_ops
from . import test_filter_differential as GENERATED
from .mariadb_cases import HAND_CASES, random_wheres, rows
from .mariadb_server import MariaDB, matching

NOW = 61000.5
N_RANDOM = 1000
GENERATED_CHUNKS = GENERATED.CHUNKS  # all of test_filter_differential's 3,000 filters
ROWS = rows()
_OUT_OF_RANGE = 1690  # MariaDB's "value is out of range": the whole query aborts


@dataclass
class Tally:
    filters: int = 0
    rows_compared: int = 0
    overflow_rows: int = 0
    overflow_filters: int = 0
    float_only: int = 0
    refused_by_both: int = 0
    unexplained: list[str] = field(default_factory=list)
    by_class: Counter[str] = field(default_factory=Counter)

    def report(self, title: str) -> str:
        classes = ", ".join(f"{name}: {count}" for name, count in sorted(self.by_class.items())) or "none"
        return (f"{title}: {self.filters} filters, {self.rows_compared} rows compared, "
                f"unexplained differences {len(self.unexplained)} ({classes}); explained: "
                f"FLOAT-only {self.float_only} filters, overflow {self.overflow_rows} rows in {self.overflow_filters} "
                f"filters; refused by both {self.refused_by_both}")


@dataclass(frozen=True)
class Dataset:
    """Rows, loaded as `<name>_wide` (FLOAT columns widened) and `<name>_float` (Lasair's types)."""

    name: str
    rows: list[dict]

    def load(self, server: MariaDB) -> None:
        server.load_objects(f"{self.name}_wide", self.rows, widen_float=True)
        server.load_objects(f"{self.name}_float", self.rows, widen_float=False)


EDGE_ROWS = Dataset("edge", ROWS)
GENERATED_ROWS = Dataset("generated", GENERATED.ROWS)


@pytest.fixture(scope="module")
def oracle(mariadb: MariaDB) -> Iterator[MariaDB]:
    EDGE_ROWS.load(mariadb)
    GENERATED_ROWS.load(mariadb)
    mariadb.execute("DROP FUNCTION IF EXISTS mjdnow")
    mariadb.execute(f"CREATE FUNCTION mjdnow() RETURNS DOUBLE DETERMINISTIC RETURN {NOW!r}")
    mariadb.execute("DROP FUNCTION IF EXISTS flux2mag")  # Lasair's definition
    mariadb.execute("CREATE FUNCTION flux2mag(flux FLOAT) RETURNS FLOAT DETERMINISTIC "
                    "RETURN IF(flux > 0, -2.5 * log10(flux) + 31.4, NULL)")
    yield mariadb


def _theirs(server: MariaDB, table: str, where: str, n_rows: int) -> tuple[set[int], set[int]] | None:
    """(selected rows, rows whose evaluation aborts on overflow), or None if MariaDB refuses the filter."""
    try:
        return matching(server, table, where), set()
    except pymysql.MySQLError as error:
        if error.args[0] != _OUT_OF_RANGE:
            return None
    selected, aborted = set(), set()
    for index in range(n_rows):
        try:
            selected |= matching(server, table, where, [index])
        except pymysql.MySQLError:
            aborted.add(index)
    return selected, aborted


def _ours(where: str, rows: list[dict], batch: ColumnBatch) -> tuple[set[int], set[int]] | str:
    """(selected per row, selected vectorised), or the refusal."""
    try:
        compiled = compile_filter(f"SELECT objects.diaObjectId FROM objects WHERE {where}")
    except FilterError as error:
        return str(error).splitlines()[0]
    # the generated functions themselves: valid SQL must never need the safety nets of matches/matches_batch
    per_row = {i for i, row in enumerate(rows) if compiled._row_where.function(row, NOW)[0] is True}
    with np.errstate(all="ignore"):
        mask = vector_ops.to_mask(compiled._vector_function(batch, NOW)[0], len(rows))
    vectorised = {int(i) for i in mask.nonzero()[0]}
    return per_row, vectorised


def compare(server: MariaDB, data: Dataset, wheres: dict[str, list[str]]) -> Tally:
    tally, rows = Tally(), data.rows
    batch = ColumnBatch.from_rows(rows, rows[0].keys())
    for kind, cases in wheres.items():
        for where in cases:
            tally.filters += 1
            theirs, ours = _theirs(server, f"{data.name}_wide", where, len(rows)), _ours(where, rows, batch)
            if theirs is None or isinstance(ours, str):
                if theirs is None and isinstance(ours, str):
                    tally.refused_by_both += 1
                else:
                    tally.by_class[kind] += 1
                    tally.unexplained.append(f"[{kind}] {where}: " + (f"refused here ({ours})" if isinstance(ours, str)
                                                                       else "refused by MariaDB, accepted here"))
                continue
            (selected, aborted), (per_row, vectorised) = theirs, ours
            tally.overflow_rows += len(aborted)
            tally.overflow_filters += bool(aborted)
            tally.rows_compared += len(rows) - len(aborted)
            if per_row != vectorised:
                tally.by_class["per-row vs vectorised"] += 1
                tally.unexplained.append(f"[per-row vs vectorised] {where}: rows {sorted(per_row ^ vectorised)[:5]}")
            wrong = (per_row ^ selected) - aborted
            if wrong:
                tally.by_class[kind] += 1
                row = rows[min(wrong)]
                tally.unexplained.append(f"[{kind}] {where}: {len(wrong)} rows differ, e.g. row {min(wrong)} "
                                         f"({'selected here only' if min(wrong) in per_row else 'selected by MariaDB only'})"
                                         f" {_columns_in(where, row)}")
                continue
            single = _theirs(server, f"{data.name}_float", where, len(rows))
            if single is not None and (per_row ^ single[0]) - aborted - single[1]:
                tally.float_only += 1
    return tally


def _columns_in(where: str, row: dict) -> dict:
    return {name: value for name, value in row.items() if name in where}


def test_hand_written_cases_agree_with_mariadb(oracle: MariaDB) -> None:
    tally = compare(oracle, EDGE_ROWS, HAND_CASES)
    print("\n" + tally.report("hand-written"))
    assert tally.filters >= 100
    assert not tally.unexplained, "\n".join(tally.unexplained[:40])


def test_random_filters_agree_with_mariadb(oracle: MariaDB) -> None:
    tally = compare(oracle, EDGE_ROWS, {"random": random_wheres(ROWS, N_RANDOM)})
    print("\n" + tally.report("random"))
    assert tally.rows_compared > N_RANDOM * 150
    assert not tally.unexplained, "\n".join(tally.unexplained[:40])


@pytest.mark.parametrize("chunk", range(GENERATED_CHUNKS))
def test_generated_filters_agree_with_mariadb(oracle: MariaDB, chunk: int) -> None:
    """The SQLite differential test's generator (every construct, nested) run in MariaDB as written for it."""
    wheres = [sql.split(" WHERE ", 1)[1] for sql, _ in GENERATED._filters(chunk)]
    tally = compare(oracle, GENERATED_ROWS, {"generated": wheres})
    print("\n" + tally.report(f"generated chunk {chunk}"))
    assert not tally.unexplained, "\n".join(tally.unexplained[:20])
