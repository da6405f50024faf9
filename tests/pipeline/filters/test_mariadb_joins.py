"""Differential test of joins against MariaDB: the join test's random filters, objects and context rows.

The tables get Lasair's column types (pipeline/context/tables.py; FLOAT widened to DOUBLE, the
stated difference), and MariaDB runs each filter with its joins written out, as Lasair's builder
writes them; the result rows, as multisets of selected values, must be ours.
"""
from __future__ import annotations

import random
from collections import Counter

import pytest

from pipeline.context.batch import BatchContext
from pipeline.context.tables import CONTEXT_TABLES
from pipeline.features.columns import COLUMNS
from .mariadb_server import MariaDB
from .test_join_differential import CONTEXT, N_FILTERS, OBJECT_COLUMNS, SEED, FilterMaker, make_data, our_rows

OBJECT_TYPES = [c for c in COLUMNS if c.name in ("diaObjectId", *OBJECT_COLUMNS)]


def load(server: MariaDB, objects: list[dict], context: dict[str, list[list[dict]]]) -> None:
    server.load("objects", OBJECT_TYPES, objects, widen_float=True)
    for table in CONTEXT:
        columns = [c for c in CONTEXT_TABLES[table].columns if c.name in ("diaObjectId", *CONTEXT[table])]
        server.load(table, columns, [row for per_object in context[table] for row in per_object], widen_float=True)


@pytest.mark.parametrize("chunk", range(4))
def test_joined_filters_give_the_rows_mariadb_gives(mariadb: MariaDB, chunk: int) -> None:
    rng = random.Random(SEED + chunk)
    objects, tables = make_data(rng)
    context = BatchContext(len(objects), tables)
    load(mariadb, objects, tables)
    maker = FilterMaker(rng)
    nonempty = 0
    for _ in range(N_FILTERS // 4):
        ours, written_out = maker.make()
        theirs = written_out.replace(" COLLATE GENERAL_CI", "")  # MariaDB's own default collation
        want = Counter(mariadb.execute(theirs))
        got = our_rows(ours, objects, context)
        assert got == want, f"\n ours:    {ours}\n MariaDB: {theirs}\n extra {got - want}\n missing {want - got}"
        nonempty += bool(want)
    assert nonempty > N_FILTERS // 20
