"""A context catalogue matching `synthetic_alerts(n, seed)`: what the built-in classifier should find.

Each transient gets a host galaxy 0.5–5″ away (with a spec-z or a direct distance, and a major
axis large enough for the transient to pass the shape test), so it is NT within 1.5″ and SN
beyond; each variable a star at its position (one in ten brighter than Sherlock's bright-star
limit, so BS); each AGN a QSO at its position; bogus detections nothing (ORPHAN). Deterministic
by seed. Written as CSV, and as Parquet when pyarrow is installed and asked for.
"""
from __future__ import annotations

import csv
import math
import random
from pathlib import Path
from typing import Any

from pipeline.context.catalogue import KIND_CODES, Catalogue, from_columns
from .alerts import object_alerts

TABLES = ("synthetic_galaxies", "synthetic_stars", "synthetic_qsos")
CSV_COLUMNS = ("ra", "dec", "kind", "name", "z", "distance_mpc", "mag", "mag_err", "mag_filter", "major_axis_arcsec")


def synthetic_sources(n_alerts: int, seed: int = 0) -> dict[str, list[dict[str, Any]]]:
    """Catalogue rows per table for the objects of the first `n_alerts` synthetic alerts."""
    objects = {}
    for obj, _ in object_alerts(n_alerts, seed):
        objects.setdefault(obj.object_id, obj)
    rng = random.Random(f"{seed}:catalogue")
    tables: dict[str, list[dict[str, Any]]] = {name: [] for name in TABLES}
    for object_id, obj in sorted(objects.items()):
        if obj.kind == "sn":
            offset, angle = rng.uniform(0.5, 5.0) / 3600.0, rng.uniform(0.0, 2 * math.pi)
            dec = obj.dec0 + offset * math.cos(angle)
            host = {"ra": (obj.ra0 + offset * math.sin(angle) / math.cos(math.radians(obj.dec0))) % 360.0, "dec": dec,
                    "kind": "galaxy", "name": f"SYNGAL {object_id}", "mag": round(rng.uniform(15.0, 21.0), 2), "mag_filter": "r",
                    "major_axis_arcsec": round(rng.uniform(8.0, 40.0), 1)}
            if rng.random() < 0.5:
                host["z"] = round(rng.uniform(0.01, 0.3), 4)
            else:
                host["distance_mpc"] = round(rng.uniform(20.0, 400.0), 1)
            tables["synthetic_galaxies"].append(host)
        elif obj.kind == "var":
            mag = rng.uniform(10.0, 12.9) if rng.random() < 0.1 else rng.uniform(14.0, 21.0)
            tables["synthetic_stars"].append({"ra": obj.ra0, "dec": obj.dec0, "kind": "star", "name": f"SYNSTAR {object_id}",
                                              "mag": round(mag, 2), "mag_err": 0.02, "mag_filter": "G"})
        elif obj.kind == "agn":
            tables["synthetic_qsos"].append({"ra": obj.ra0, "dec": obj.dec0, "kind": "qso", "name": f"SYNQSO {object_id}",
                                             "z": round(rng.uniform(0.1, 3.0), 3)})
    return tables


def synthetic_catalogue(n_alerts: int, seed: int = 0) -> Catalogue:
    """The same sources as an in-memory catalogue (no files)."""
    tables = []
    for name, rows in synthetic_sources(n_alerts, seed).items():
        cols: dict[str, Any] = {key: [r.get(key, math.nan) for r in rows] for key in ("ra", "dec", "z", "mag", "mag_err")}
        cols.update(kind=[KIND_CODES[r["kind"]] for r in rows], name=[r["name"] for r in rows],
                    distance=[r.get("distance_mpc", math.nan) for r in rows], mag_filter=[r.get("mag_filter") for r in rows],
                    major_axis=[r.get("major_axis_arcsec", math.nan) for r in rows])
        tables.append((name, cols))
    return from_columns(tables, version=f"synthetic-{n_alerts}-{seed}")


def write_synthetic_catalogue(directory: str | Path, n_alerts: int, seed: int = 0, parquet: bool = False) -> list[Path]:
    """Write one file per table into `directory` (created if needed); the paths, for `load_catalogues`."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, rows in synthetic_sources(n_alerts, seed).items():
        if parquet:
            import pyarrow as pa
            import pyarrow.parquet as pq

            path = directory / f"{name}.parquet"
            pq.write_table(pa.table({c: [r.get(c) for r in rows] for c in CSV_COLUMNS}), path)
        else:
            path = directory / f"{name}.csv"
            with path.open("w", newline="") as f:
                writer = csv.DictWriter(f, CSV_COLUMNS)
                writer.writeheader()
                writer.writerows(rows)
        paths.append(path)
    return paths
