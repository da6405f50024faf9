"""How fast filters run vectorised, against a database-backed broker's way of doing it.

A database-backed broker (Lasair) loads each batch of alerts into a table and runs every
filter's SQL on it; here the same random Lasair-like filters are run (a) vectorised by
`FilterSet` on each batch's columns, (b) by SQLite on an in-memory `objects` table loaded per
batch and (c) per row through `CompiledFilter.matches`, and all three must select the same
rows. Rates count alerts x filters evaluated per second. The worker's features arrive as
columns, so (a) starts from a `ColumnBatch`; converting row dicts into columns
(`ColumnBatch.from_rows`) is timed apart, as it is no longer on the worker's path. SQLite's
time includes loading each batch, as a database broker must.
"""
from __future__ import annotations

import math
import random
import sqlite3
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pipeline.features.columns import COLUMN_NAMES
from .batch import COLUMN_KINDS, ColumnBatch
from .compiled import CompiledFilter, FilterSet, compile_filter
from .ir import INT, STR

Row = Mapping[str, Any]
_NOW = 61000.0  # fixed instant so the run is repeatable
_WARMUP_RUNS = 8
# The vectorised pass over all batches is short (tens of ms), so one preemption on a shared
# machine can double it: its time is the median of this many passes. SQLite's single pass
# takes seconds and averages such noise out by itself.
VECTORISED_PASSES = 9


def random_filter_sql(rows: Sequence[Row], n_filters: int, seed: int = 1) -> list[str]:
    return [f"SELECT objects.diaObjectId FROM objects WHERE {w.sql()}" for w in _random_wheres(rows, n_filters, seed)]


@dataclass(frozen=True)
class _Where:
    """A WHERE clause with its thresholds apart: SQLite gets them bound as parameters,
    since its own parsing of long decimal literals is not always correctly rounded."""

    template: str  # one {} per threshold
    thresholds: tuple[int | float, ...]

    def sql(self) -> str:
        return self.template.format(*map(repr, self.thresholds))

    def sqlite(self) -> str:
        return self.template.format(*("?" for _ in self.thresholds))


def _random_wheres(rows: Sequence[Row], n_filters: int, seed: int) -> list[_Where]:
    """Lasair-like conditions: 1-3 thresholds on numeric columns, joined by AND/OR.

    Thresholds are values drawn from the rows, rounded as a person would write them, so
    selectivities are realistic whatever the data.
    """
    rng = random.Random(seed)
    observed = {name: values for name in COLUMN_NAMES if COLUMN_KINDS[name] != STR
                and (values := [v for row in rows if (v := row.get(name)) is not None
                                and not (isinstance(v, float) and math.isnan(v))])}
    if not observed:
        raise ValueError("no numeric values in the rows to draw thresholds from")
    names = sorted(observed)

    def threshold(name: str) -> int | float:
        value = rng.choice(observed[name])
        return int(value) if COLUMN_KINDS[name] == INT else float(f"{value:.5g}")

    def condition() -> _Where:
        name = rng.choice(names)
        op = rng.choice([">", ">=", "<", "<=", ">", "<", "BETWEEN"])
        if op == "BETWEEN":
            low, high = sorted((threshold(name), threshold(name)))
            return _Where(f"objects.{name} BETWEEN {{}} AND {{}}", (low, high))
        return _Where(f"objects.{name} {op} {{}}", (threshold(name),))

    wheres = []
    for _ in range(n_filters):
        parts = [condition() for _ in range(rng.choice((1, 2, 2, 3)))]
        if len(parts) == 3 and rng.random() < 0.4:
            template = f"{parts[0].template} AND ({parts[1].template} OR {parts[2].template})"
        else:
            template = f" {rng.choice(('AND', 'AND', 'AND', 'OR'))} ".join(part.template for part in parts)
        wheres.append(_Where(template, tuple(t for part in parts for t in part.thresholds)))
    return wheres


def bench_filters(rows: list[dict], n_filters: int, seed: int = 1, batch_size: int = 1000,
                  per_row_budget: int = 200_000) -> dict[str, Any]:
    """Time the three evaluation methods; per-row runs on a prefix of at most `per_row_budget` pairs."""
    wheres = _random_wheres(rows, n_filters, seed)
    filters = [compile_filter(f"SELECT objects.diaObjectId FROM objects WHERE {w.sql()}") for w in wheres]
    batches = [rows[i:i + batch_size] for i in range(0, len(rows), batch_size)]
    vector_masks, vector_s, conversion_s = _run_vectorised(filters, batches)
    sqlite_masks, sqlite_s = _run_sqlite(filters, wheres, batches)
    mismatches = int(np.count_nonzero(vector_masks != sqlite_masks))
    per_row_rows = rows[:max(1, per_row_budget // max(1, n_filters))]
    per_row, per_row_s = _run_per_row(filters, per_row_rows)
    per_row_mismatches = int(np.count_nonzero(per_row != vector_masks[:, :len(per_row_rows)]))
    pairs = len(rows) * n_filters
    result = {
        "alerts": len(rows), "filters": n_filters, "batch_size": batch_size,
        "vectorised_per_s": pairs / vector_s, "sqlite_per_s": pairs / sqlite_s,
        "vectorised_with_conversion_per_s": pairs / (vector_s + conversion_s),
        "per_row_per_s": len(per_row_rows) * n_filters / per_row_s,
        "seconds": {"vectorised": vector_s, "conversion": conversion_s, "sqlite": sqlite_s, "per_row": per_row_s},
        "per_row_alerts": len(per_row_rows),
        "selected_fraction": float(vector_masks.mean()) if vector_masks.size else 0.0,
        "mismatches_vs_sqlite": mismatches, "mismatches_vs_per_row": per_row_mismatches,
        "agree": mismatches == 0 and per_row_mismatches == 0,
    }
    result["speedup_vs_sqlite"] = result["vectorised_per_s"] / result["sqlite_per_s"]
    result["speedup_with_conversion_vs_sqlite"] = result["vectorised_with_conversion_per_s"] / result["sqlite_per_s"]
    result["speedup_vs_per_row"] = result["vectorised_per_s"] / result["per_row_per_s"]
    return result


def _run_vectorised(filters: list[CompiledFilter],
                    batches: list[list[dict]]) -> tuple[np.ndarray, float, float]:
    """Selections as a (filters x alerts) array, the seconds the filters took on the batches'
    columns (median pass), and the seconds converting the rows into those columns took
    (apart: the worker gets its columns from the features, not from row dicts)."""
    filter_set = FilterSet(filters)
    start = time.perf_counter()
    column_batches = [ColumnBatch.from_rows(batch, filter_set.columns) for batch in batches]
    conversion = time.perf_counter() - start
    for _ in range(_WARMUP_RUNS):  # Python specialises a function's bytecode after a few calls
        filter_set.evaluate(batches[0] if batches else [], now_mjd=_NOW)
    passes = []
    for _ in range(VECTORISED_PASSES):
        start = time.perf_counter()
        results = [filter_set.evaluate_batch(columns, now_mjd=_NOW) for columns in column_batches]
        passes.append(time.perf_counter() - start)
    elapsed = float(np.median(passes))
    masks = [np.vstack([result[i] for i in range(len(filters))]) for result in results]
    return np.hstack(masks) if masks else np.zeros((len(filters), 0), dtype=bool), elapsed, conversion


def _run_sqlite(filters: list[CompiledFilter], wheres: list[_Where],
                batches: list[list[dict]]) -> tuple[np.ndarray, float]:
    """The database way: load each batch into `objects`, run each filter's WHERE on it.

    The generated filters use only comparisons, BETWEEN, AND and OR on numeric columns,
    where SQLite and MySQL agree once NaN is stored as NULL, so the SQL runs unchanged.
    """
    columns = sorted(set().union(*(f.where_columns for f in filters)))
    ddl = ", ".join(f'"{c}" {"INTEGER" if COLUMN_KINDS[c] == INT else "REAL"}' for c in columns)
    insert = f"INSERT INTO objects VALUES ({', '.join('?' for _ in columns)})"
    queries = [(f"SELECT rowid - 1 FROM objects WHERE {w.sqlite()}", w.thresholds) for w in wheres]
    connection = sqlite3.connect(":memory:")
    connection.execute(f"CREATE TABLE objects ({ddl})")
    masks = []
    start = time.perf_counter()
    for batch in batches:
        connection.execute("DELETE FROM objects")
        connection.executemany(insert, ([_sqlite_value(row.get(c)) for c in columns] for row in batch))
        mask = np.zeros((len(filters), len(batch)), dtype=bool)
        for i, (query, parameters) in enumerate(queries):
            for (index,) in connection.execute(query, parameters):
                mask[i, index] = True
        masks.append(mask)
    elapsed = time.perf_counter() - start
    connection.close()
    return np.hstack(masks) if masks else np.zeros((len(filters), 0), dtype=bool), elapsed


def _sqlite_value(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value


def _run_per_row(filters: list[CompiledFilter], rows: list[dict]) -> tuple[np.ndarray, float]:
    for _ in range(_WARMUP_RUNS):
        [f.matches(rows[0], _NOW) for f in filters]
    start = time.perf_counter()
    result = np.array([[f.matches(row, _NOW) for row in rows] for f in filters], dtype=bool)
    return result, time.perf_counter() - start


def random_rows(n: int, seed: int = 1) -> list[dict[str, Any]]:
    """Plausible `objects` rows (distributions loosely like Rubin's), with NULLs, for testing."""
    rng = np.random.default_rng(seed)
    bands = "ugrizy"
    rows = []
    for i in range(n):
        last = 60800.0 + rng.uniform(0, 300)
        n_sources = int(rng.poisson(6)) + 1
        row: dict[str, Any] = {name: (float(rng.normal()) if rng.random() < 0.8 else None)
                               for name in COLUMN_NAMES if COLUMN_KINDS[name] not in (INT, STR)}
        row.update({
            "diaObjectId": 170_000_000_000_000_000 + int(rng.integers(0, 10**12)),
            "ra": float(rng.uniform(0, 360)), "decl": float(rng.uniform(-90, 30)),
            "lastDiaSourceMjdTai": last, "firstDiaSourceMjdTai": last - float(rng.exponential(30)),
            "latest_psfFlux": float(rng.lognormal(8, 1.5)),
            "medianR": float(rng.uniform()), "latestR": float(rng.uniform()),
            "nDiaSources": n_sources, "nPosDiaSources": int(rng.integers(0, n_sources + 1)),
            "nPosDiaSourcesNights": int(rng.integers(1, n_sources + 1)),
            "nSourcesGood": int(rng.integers(0, n_sources + 1)),
            "tns_name": f"2025{''.join(map(str, rng.choice(list('abcdefgh'), 3)))}" if rng.random() < 0.05 else None,
            "glat": float(np.clip(rng.normal(0, 30), -90, 90)), "ebv": float(rng.exponential(0.1)),
            "jump1": float(rng.normal(0, 3)), "jump2": float(rng.normal(0, 3)) if rng.random() < 0.7 else None,
            "latestPairColourBands": str(rng.choice(["g-r", "r-i", "u-g", "i-z"])) if rng.random() < 0.6 else None,
            "penultimatePairColourBands": str(rng.choice(["g-r", "r-i"])) if rng.random() < 0.4 else None,
            "htm16": int(rng.integers(8 * 4**16, 16 * 4**16)),
            "timestamp": f"2025-06-{int(rng.integers(1, 31)):02d} 12:00:00",
            "absMag": float(rng.normal(-17, 2)) if rng.random() < 0.1 else None,
        })
        for band in bands:
            seen = rng.random() < 0.6
            flux = float(rng.lognormal(8, 1.5)) if seen else None
            row[f"n{band}Sources"] = int(rng.integers(1, n_sources + 1)) if seen else 0
            row[f"{band}_psfFlux"] = flux
            row[f"{band}_latestMJD"] = last - float(rng.uniform(0, 30)) if seen else None
            row[f"{band}_psfFluxMean"] = flux * float(rng.uniform(0.5, 1.5)) if seen else None
            row[f"{band}_psfFluxMeanErr"] = flux * 0.05 if seen else None
        rows.append(row)
    return rows


def format_bench(result: Mapping[str, Any]) -> str:
    """A short human report of `bench_filters`' result."""
    def rate(per_s: float) -> str:
        return f"{per_s / 1e6:10.1f} M alert-filters/s"
    seconds = result["seconds"]
    return "\n".join([
        f"{result['alerts']} alerts x {result['filters']} filters, batches of {result['batch_size']}"
        f" ({result['selected_fraction']:.1%} of alert-filter pairs selected)",
        f"  vectorised (numpy): {rate(result['vectorised_per_s'])}  ({seconds['vectorised']:.3f} s from columns,"
        f" median of {VECTORISED_PASSES} passes)",
        f"    converting row dicts to columns, no longer on the worker's path: {seconds['conversion']:.3f} s"
        f" (with it: {result['vectorised_with_conversion_per_s'] / 1e6:.0f} M/s,"
        f" {result['speedup_with_conversion_vs_sqlite']:.1f}x SQLite)",
        f"  SQLite per batch:   {rate(result['sqlite_per_s'])}  ({seconds['sqlite']:.3f} s)",
        f"  per-row Python:     {rate(result['per_row_per_s'])}  ({seconds['per_row']:.3f} s,"
        f" on {result['per_row_alerts']} alerts)",
        f"  vectorised / SQLite: {result['speedup_vs_sqlite']:.1f}x;"
        f" vectorised / per-row: {result['speedup_vs_per_row']:.1f}x",
        f"  results agree: {'yes' if result['agree'] else 'NO'}"
        f" (mismatches vs SQLite {result['mismatches_vs_sqlite']}, vs per-row {result['mismatches_vs_per_row']})",
    ])
