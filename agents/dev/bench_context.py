"""`run.py bench context`: the built-in classifier's index and per-alert cost with a 10-million-source catalogue.

The catalogue is a random sky (stars, galaxies with and without size or redshift, QSOs) plus the
synthetic hosts of the measured alerts, so the alerts meet real matches. Each cost is set beside
the cavro full-decode cost of the same alerts, measured in the same process.
"""
from __future__ import annotations

import gc
import math
import os
import time
from typing import Any

import numpy as np

from pipeline.context.catalogue import GALAXY, QSO, STAR, Catalogue, from_columns
from pipeline.context.sherlock import ContextClassifier, ObjectPosition, SherlockCache, object_position
from pipeline.context.sky_index import radec
from pipeline.decode.wire import decode_record
from pipeline.synthetic.catalogue import synthetic_catalogue
from .bench_inprocess import Rate, encoded_alerts, format_rates, timed
from .proc_stats import rss_mb


def random_sky(n: int, seed: int) -> dict[str, Any]:
    """`n` sources uniform on the sphere: 60% stars, 35% galaxies (a third with a size, a fifth with a spec-z), 5% QSOs."""
    rng = np.random.default_rng(seed)
    kind = rng.choice(np.array([STAR, GALAXY, QSO], dtype=np.int8), size=n, p=[0.60, 0.35, 0.05])
    galaxy = kind == GALAXY
    sized = galaxy & (rng.random(n) < 1 / 3)
    with_z = galaxy & ~sized & (rng.random(n) < 0.2)
    return {
        "ra": rng.random(n) * 360.0,
        "dec": np.degrees(np.arcsin(rng.uniform(-1.0, 1.0, n))),
        "kind": kind,
        "mag": rng.uniform(12.0, 24.0, n).astype(np.float32),
        "major_axis": np.where(sized, rng.uniform(2.0, 30.0, n), np.nan).astype(np.float32),
        "z": np.where(with_z, rng.uniform(0.01, 0.5, n), np.nan).astype(np.float32),
    }


def build_catalogue(n_sources: int, n_alerts: int, seed: int) -> Catalogue:
    hosts = synthetic_catalogue(n_alerts, seed)
    ra, dec = radec(hosts.xyz)
    host_columns = {"ra": ra, "dec": dec, "kind": hosts.kind, "name": hosts.name,
                    "z": hosts.z, "distance": hosts.distance, "mag": hosts.mag, "major_axis": hosts.major_axis}
    return from_columns([("random_sky", random_sky(n_sources - len(hosts), seed)), ("synthetic", host_columns)],
                        version=f"bench-{n_sources}-{seed}")


def bench_context(n_sources: int = 10_000_000, n_alerts: int = 3000, seed: int = 0) -> dict[str, Any]:
    messages = encoded_alerts(n_alerts, seed)
    decoded = timed("full decode, cavro (the worker's decoder)", messages, decode_record)
    positions = {m: object_position(decode_record(m)[1]["diaObject"]) for m in messages}
    gc.collect()
    rss0 = rss_mb(os.getpid())
    t0 = time.perf_counter()
    catalogue = build_catalogue(n_sources, n_alerts, seed)
    t1 = time.perf_counter()
    classifier = ContextClassifier(catalogue, cache=SherlockCache())
    t2 = time.perf_counter()
    del catalogue
    gc.collect()
    rss1 = rss_mb(os.getpid())

    def one(message: bytes) -> Any:
        return classifier.classify([positions[message]])

    stream = timed("classify, stream order (new + cached)", messages, one)
    cached = timed("classify, every object cached", messages, one)
    firsts = list({p.diaObjectId: m for m, p in positions.items() if p.nDiaSources >= 2}.values())
    classifier.cache = SherlockCache()
    new = timed("classify, new object each time", firsts, one)
    classifier.cache = SherlockCache()
    batch: list[ObjectPosition] = [positions[m] for m in firsts]
    t3 = time.perf_counter()
    rows = classifier.classify(batch)
    batch_rate = Rate("classify, new objects in one batch", len(batch), time.perf_counter() - t3, [])
    classes: dict[str, int] = {}
    for row in rows.values():
        key = row["classification"] if row else "(singleton)"
        classes[key] = classes.get(key, 0) + 1
    return {
        "sources": len(classifier.catalogue), "alerts": n_alerts, "catalogue_s": t1 - t0, "index_s": t2 - t1,
        "memory_mb": rss1 - rss0, "tiers": [(len(index), radius) for _, index, radius in classifier.tiers],
        "rates": [decoded, stream, cached, new], "batch": batch_rate, "classes": classes,
    }


def format_context(result: dict[str, Any]) -> str:
    decode_ms = result["rates"][0].seconds / result["rates"][0].alerts * 1000
    lines = [
        f"catalogue: {result['sources']:,} sources (random sky + synthetic hosts), made in {result['catalogue_s']:.1f} s",
        f"index (k-d trees on unit vectors, by association radius): built in {result['index_s']:.1f} s; "
        f"catalogue + index resident: {result['memory_mb']:,.0f} MB",
        "tiers (sources, search radius arcsec): " + ", ".join(f"{n:,} @ {r:.1f}" for n, r in result["tiers"]),
        f"{result['alerts']} synthetic alerts, one core",
        format_rates(result["rates"]),
        "mean cost per alert, beside the cavro decode:",
    ]
    for rate in result["rates"][1:] + [result["batch"]]:
        ms = rate.seconds / rate.alerts * 1000 if rate.alerts else math.nan
        lines.append(f"  {rate.name:<44}{ms:>9.4f} ms  ({ms / decode_ms:.2f}x the decode)")
    lines.append(f"  {'cavro full decode':<44}{decode_ms:>9.4f} ms")
    lines.append("classifications of the batch: " + ", ".join(f"{k} {v}" for k, v in sorted(result["classes"].items())))
    return "\n".join(lines)


def main(n_sources: int = 10_000_000, n_alerts: int = 3000, seed: int = 0) -> None:
    print(format_context(bench_context(n_sources, n_alerts, seed)))
