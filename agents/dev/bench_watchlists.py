"""Benchmark of watchlist and area matching at Lasair scale (`run.py bench watchlists`).

1,000 watchlists holding 1,000,000 sources (radii 1-60") and 200 areas: the time and memory to
build the matching indexes, and the cost per alert of matching micro-batches of alert positions,
beside the cost of decoding the same alerts with cavro in the same run. A tenth of the alerts
have a watchlist source planted within its radius, so the cost of making rows is counted too.
"""
from __future__ import annotations

import gc
import os
import time
from typing import Any

import astropy.units as u
import numpy as np
from mocpy import MOC

from agents.dev.bench_inprocess import encoded_alerts, timed
from agents.dev.proc_stats import rss_mb
from pipeline.context.areas import Area, AreaIndex
from pipeline.context.watchlist_file import Sources
from pipeline.context.watchlist_index import WatchlistIndex
from pipeline.context.watchlist_limits import MAX_SOURCES
from pipeline.context.watchlist_record import Watchlist, WatchlistBook
from pipeline.decode.wire import decode_record

WORKER_BUDGET_MS = 1.2  # the worker's time per alert in the issue; matching should take under a tenth


def synthetic_watchlists(n_lists: int, n_sources: int, seed: int, planted: tuple[np.ndarray, np.ndarray]) -> list[Watchlist]:
    """Lists of log-normal sizes summing to `n_sources`, sources anywhere on the sky with radii 1-60"
    (log-uniform); the `planted` positions become sources of the first lists, offset within their radius."""
    rng = np.random.default_rng(seed)
    weights = rng.lognormal(0, 1.5, n_lists)
    sizes = np.minimum(np.maximum(1, np.floor(weights / weights.sum() * n_sources)).astype(int), MAX_SOURCES)
    sizes[np.argmax(sizes)] += n_sources - sizes.sum()
    ra = rng.uniform(0, 360, n_sources)
    dec = np.degrees(np.arcsin(rng.uniform(-1, 1, n_sources)))
    radius = np.exp(rng.uniform(0, np.log(60), n_sources))
    n_planted = len(planted[0])
    ra[:n_planted] = (planted[0] + rng.uniform(-0.5, 0.5, n_planted) / 3600) % 360
    dec[:n_planted] = np.clip(planted[1] + rng.uniform(-0.5, 0.5, n_planted) / 3600, -90, 90)
    radius[:n_planted] = np.maximum(radius[:n_planted], 2.0)
    lists, start = [], 0
    for wl_id, size in enumerate(sizes.tolist(), 1):
        end = start + size
        names = tuple(f"src{i}" for i in range(size))
        lists.append(Watchlist(wl_id, "1", f"list {wl_id}", 10.0, Sources(ra[start:end], dec[start:end], radius[start:end], names)))
        start = end
    return lists


def synthetic_areas(n_areas: int, seed: int) -> list[Area]:
    """Cones of 0.1-5 deg, MOC order 8-14, as users draw survey fields and galaxies."""
    rng = np.random.default_rng(seed)
    areas = []
    for ar_id in range(1, n_areas + 1):
        moc = MOC.from_cone(lon=rng.uniform(0, 360) * u.deg, lat=np.degrees(np.arcsin(rng.uniform(-1, 1))) * u.deg,
                            radius=rng.uniform(0.1, 5) * u.deg, max_depth=int(rng.integers(8, 15)))
        areas.append(Area(ar_id, "1", f"area {ar_id}", moc))
    return areas


def _seconds(step) -> tuple[Any, float]:
    t0 = time.perf_counter()
    value = step()
    return value, time.perf_counter() - t0


def _rss() -> float:
    gc.collect()
    return rss_mb(os.getpid())


def _read_back(lists: list[Watchlist]) -> float:
    """Seconds for a worker to rebuild the watchlists from their topic records (as at a start)."""
    records = [record for w in lists for record in WatchlistBook().save(w)]
    book = WatchlistBook()
    _, seconds = _seconds(lambda: [book.apply(k, v) for k, v in records])
    assert len(book.items) == len(lists)
    return seconds


def bench_watchlists(n_alerts: int = 5000, seed: int = 1, batch: int = 500, n_lists: int = 1000,
                     n_sources: int = 1_000_000, n_areas: int = 200) -> dict[str, Any]:
    messages = encoded_alerts(n_alerts, seed)
    decode = timed("cavro decode (the worker's decoder)", messages, decode_record)
    objects = [decode_record(m)[1]["diaObject"] for m in messages]
    ids = np.array([o["diaObjectId"] for o in objects], dtype=np.int64)
    ra, dec = np.array([o["ra"] for o in objects]), np.array([o["dec"] for o in objects])

    rss0 = _rss()
    lists = synthetic_watchlists(n_lists, n_sources, seed, (ra[::10], dec[::10]))
    rss_lists = _rss()
    read_back = _read_back(lists)
    rss1 = _rss()
    index, build = _seconds(lambda: WatchlistIndex(lists))
    rss_index = _rss()
    areas = synthetic_areas(n_areas, seed)
    area_index, area_build = _seconds(lambda: AreaIndex(areas))

    wl_seconds = area_seconds = 0.0
    wl_rows = area_rows = 0
    for start in range(0, n_alerts, batch):
        part = slice(start, start + batch)
        rows, seconds = _seconds(lambda: index.match(ids[part], ra[part], dec[part]))
        wl_seconds, wl_rows = wl_seconds + seconds, wl_rows + len(rows)
        rows, seconds = _seconds(lambda: area_index.match(ids[part], ra[part], dec[part]))
        area_seconds, area_rows = area_seconds + seconds, area_rows + len(rows)
    return {
        "alerts": n_alerts, "batch": batch, "lists": len(lists), "sources": len(index), "bands": len(index.bands), "areas": len(area_index),
        "build_s": build, "area_build_s": area_build, "read_back_s": read_back,
        "index_arrays_mb": index.nbytes / 2**20, "index_rss_mb": rss_index - rss1, "lists_rss_mb": rss_lists - rss0,
        "decode_ms": decode.seconds / n_alerts * 1000, "watchlist_ms": wl_seconds / n_alerts * 1000,
        "area_ms": area_seconds / n_alerts * 1000, "watchlist_rows": wl_rows, "area_rows": area_rows,
        "load": os.getloadavg()[0], "cores": os.cpu_count(),
    }


def format_watchlists(r: dict[str, Any]) -> str:
    both = r["watchlist_ms"] + r["area_ms"]
    return "\n".join([
        f"{r['lists']:,} watchlists, {r['sources']:,} active sources (radii 1-60\", {r['bands']} radius bands); {r['areas']} areas (MOC order 8-14)",
        f"watchlists in memory (sources and names): {r['lists_rss_mb']:.0f} MB RSS; read back from their topic records: {r['read_back_s']:.2f} s",
        f"index build: watchlists {r['build_s']:.2f} s, {r['index_rss_mb']:.0f} MB RSS ({r['index_arrays_mb']:.0f} MB arrays + k-d trees); "
        f"areas {r['area_build_s'] * 1000:.1f} ms (the MOCs themselves)",
        f"{r['alerts']:,} synthetic alerts in micro-batches of {r['batch']}, one process (load average {r['load']:.1f} on {r['cores']} cores: "
        "absolute times grow with it, the x decode column much less)",
        f"{'path':<40}{'us/alert':>10}{'x decode':>10}{'of 1.2 ms':>11}",
        *(f"{name:<40}{ms * 1000:>10.1f}{ms / r['decode_ms']:>10.2f}{ms / WORKER_BUDGET_MS:>11.1%}"
          for name, ms in (("cavro decode (the worker's decoder)", r["decode_ms"]), ("watchlist matching", r["watchlist_ms"]),
                           ("area matching", r["area_ms"]), ("watchlist + area matching", both))),
        f"rows made: {r['watchlist_rows']:,} watchlist_hits, {r['area_rows']:,} area_hits",
    ])


if __name__ == "__main__":
    print(format_watchlists(bench_watchlists()))
