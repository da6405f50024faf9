"""What the objects columns of a micro-batch cost computed as columns, against objects_row per alert.

Both paths start from the same normalised synthetic alerts and end where filters start: the row
path's objects_row | objects_ext_values per alert and then ColumnBatch.from_rows, the columnar
path's History.from_alerts and objects_columns per batch (the worker will build its History while
decoding, so from_alerts is shown apart). Each time is the best of `repeats` runs, as microseconds
per alert; the dust map is loaded before timing.
"""
from __future__ import annotations

import time
from collections.abc import Callable

from pipeline.decode.alert import Alert, normalise
from pipeline.decode.schemas import LATEST_SCHEMA_ID
from pipeline.filters.batch import ColumnBatch
from pipeline.synthetic.alerts import synthetic_alerts
from .columnar import ALL_COLUMNS, objects_columns
from .dust import dust_map
from .history import History
from .objects import objects_row
from .objects_ext import objects_ext_values


def bench_columnar(n_alerts: int = 5000, batch: int = 500, seed: int = 0, repeats: int = 3) -> dict[str, float]:
    """Microseconds per alert of each step, for `n_alerts` synthetic alerts in batches of `batch`."""
    alerts = [normalise(record, LATEST_SCHEMA_ID) for record in synthetic_alerts(n_alerts, seed)]
    batches = [alerts[i:i + batch] for i in range(0, len(alerts), batch)]
    dust_map()
    histories = [History.from_alerts(chunk) for chunk in batches]
    rows = [[_row(alert) for alert in chunk if alert.diaObject is not None] for chunk in batches]

    def per_alert(step: Callable[[], object]) -> float:
        best = min(_seconds(step) for _ in range(repeats))
        return best / max(len(alerts), 1) * 1e6

    return {
        "objects_row + objects_ext_values": per_alert(lambda: [[_row(a) for a in chunk if a.diaObject is not None] for chunk in batches]),
        "ColumnBatch.from_rows": per_alert(lambda: [ColumnBatch.from_rows(r, ALL_COLUMNS) for r in rows]),
        "History.from_alerts": per_alert(lambda: [History.from_alerts(chunk) for chunk in batches]),
        "objects_columns": per_alert(lambda: [objects_columns(h) for h in histories]),
    }


def format_bench(result: dict[str, float], n_alerts: int, batch: int) -> str:
    lines = [f"objects columns, {n_alerts} synthetic alerts in batches of {batch}: us/alert (best of runs)"]
    lines += [f"  {name:<34} {us:8.1f}" for name, us in result.items()]
    return "\n".join(lines)


def _row(alert: Alert) -> dict:
    return objects_row(alert) | objects_ext_values(alert.diaObject)


def _seconds(step: Callable[[], object]) -> float:
    start = time.perf_counter()
    step()
    return time.perf_counter() - start
