"""Benchmarks that print their own comparison (`run.py bench ...`); never timed tests.

Every rate is measured on the same pre-encoded synthetic alerts in one process, so the numbers
compare paths, not machines.
"""
from __future__ import annotations

import io
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import fastavro

from pipeline.decode.alert import normalise
from pipeline.decode.avro_codec import bundled_codec
from pipeline.decode.schemas import LATEST_SCHEMA_ID, parsed_schema
from pipeline.decode.wire import decode_record
from pipeline.features.columns import COLUMNS
from pipeline.features.dust import dust_map
from pipeline.features.ingest import ingest
from pipeline.features.micro_batch import columnar_reader, ingest_batch
from pipeline.features.objects import NULL_COLUMNS, objects_row
from pipeline.filters.bench import bench_filters as run_filter_bench
from pipeline.filters.bench import format_bench
from pipeline.observe.stats import percentiles
from pipeline.synthetic.alerts import synthetic_alerts, synthetic_messages


@dataclass
class Rate:
    name: str
    alerts: int
    seconds: float
    per_alert_ms: list[float]

    @property
    def per_second(self) -> float:
        return self.alerts / self.seconds

    def percentiles(self) -> dict[int, float]:
        return percentiles(self.per_alert_ms) or dict.fromkeys((50, 95, 99), float("nan"))


def timed(name: str, messages: Sequence[bytes], step: Callable[[bytes], Any]) -> Rate:
    clock = time.perf_counter
    laps = []
    start = clock()
    for message in messages:
        t0 = clock()
        step(message)
        laps.append((clock() - t0) * 1000)
    return Rate(name, len(messages), clock() - start, laps)


def timed_batches(name: str, messages: Sequence[bytes], step: Callable[[Sequence[bytes]], Any], size: int = 500) -> Rate:
    """`timed` for a step that takes a whole micro-batch: each alert's time is its batch's share."""
    clock = time.perf_counter
    laps: list[float] = []
    start = clock()
    for first in range(0, len(messages), size):
        batch = messages[first:first + size]
        t0 = clock()
        step(batch)
        laps.extend([(clock() - t0) * 1000 / len(batch)] * len(batch))
    return Rate(name, len(messages), clock() - start, laps)


def columnar_decode(messages: Sequence[bytes]) -> Any:
    """The worker's first step alone: the fields features and lite records use, for a whole batch."""
    reader = columnar_reader(bundled_codec(LATEST_SCHEMA_ID))
    assert reader is not None
    return reader.read([m[5:] for m in messages])


def fastavro_decode(message: bytes) -> dict[str, Any]:
    """Plain full decoding as most Python brokers do it: the baseline to beat."""
    return fastavro.schemaless_reader(io.BytesIO(message[5:]), parsed_schema(int.from_bytes(message[1:5], "big")))


def encoded_alerts(n: int, seed: int) -> list[bytes]:
    return list(synthetic_messages(n, seed))


def bench_decode(n: int, seed: int) -> dict[str, Any]:
    messages = encoded_alerts(n, seed)
    dust_map()  # loaded once per process (as a worker does at start), not inside the timed loop
    rates = [
        timed("full decode, fastavro", messages, fastavro_decode),
        timed("full decode, cavro (the worker's decoder)", messages, decode_record),
        timed("decode + normalise + objects row", messages, lambda m: ingest(m, bundled_codec)),
        timed_batches("columnar decode, the worker's fields", messages, columnar_decode),
        timed_batches("worker: columnar decode + objects columns", messages, lambda batch: ingest_batch(batch, bundled_codec)),
    ]
    return {"alerts": n, "mean_bytes": sum(map(len, messages)) / n, "rates": rates}


def format_rates(rates: list[Rate]) -> str:
    lines = [f"{'path':<44}{'alerts/s':>10}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"]
    for r in rates:
        p = r.percentiles()
        lines.append(f"{r.name:<44}{r.per_second:>10,.0f}{p[50]:>9.3f}{p[95]:>9.3f}{p[99]:>9.3f}")
    base = rates[0].per_second
    for r in rates[1:]:
        lines.append(f"{r.name}: {r.per_second / base:.2f}x the rate of {rates[0].name}")
    return "\n".join(lines)


def format_decode(result: dict[str, Any]) -> str:
    head = f"{result['alerts']} synthetic v11 alerts, mean {result['mean_bytes'] / 1024:.1f} kB in wire format, one core"
    return head + "\n" + format_rates(result["rates"])


def synthetic_rows(n: int, seed: int) -> list[dict[str, Any]]:
    """`objects` rows of synthetic alerts: what the filters really see, NULLs included."""
    return [objects_row(normalise(record, LATEST_SCHEMA_ID)) for record in synthetic_alerts(n, seed)]


def bench_filters(n_alerts: int, n_filters: int, seed: int) -> str:
    return format_bench(run_filter_bench(synthetic_rows(n_alerts, seed), n_filters, seed))


def selective_filters(rows: list[dict[str, Any]], n: int, seed: int) -> list[tuple[str, str]]:
    """(sql, mode) of `n` Lasair-like filters that each pass about 0.1-1% of alerts, as real
    stream filters do; thresholds are quantiles of the rows. Modes: 80% plain, 15% lite, 5% full."""
    rng = random.Random(seed)
    numeric = [c.name for c in COLUMNS if c.sql_type in ("float", "double", "int") and c.name not in NULL_COLUMNS]
    ranked = {name: sorted(v for r in rows if (v := r.get(name)) is not None) for name in numeric}
    usable = [name for name, values in ranked.items() if len(set(values)) > 20]
    filters = []
    for _ in range(n):
        columns = rng.sample(usable, rng.choice((1, 1, 2)))
        tail = rng.uniform(0.001, 0.01) ** (1 / len(columns))  # joint pass rate of independent conditions
        conditions = []
        for name in columns:
            values = ranked[name]
            if rng.random() < 0.5:
                conditions.append(f"objects.{name} > {values[int((1 - tail) * (len(values) - 1))]!r}")
            else:
                conditions.append(f"objects.{name} < {values[int(tail * (len(values) - 1))]!r}")
        select = ", ".join(["objects.diaObjectId", "objects.ra", "objects.decl", *(f"objects.{c}" for c in columns)])
        mode = rng.choices(("plain", "lite", "full"), weights=(80, 15, 5))[0]
        filters.append((f"SELECT {select} FROM objects WHERE {' AND '.join(conditions)}", mode))
    return filters
