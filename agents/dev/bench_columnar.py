"""The columnar reader against cavro's full decode, on the same synthetic alerts in one process
(`python -m agents.dev.bench_columnar [alerts] [seed] [batch] [repeats] [cutout bytes]`); never a timed test."""
from __future__ import annotations

import sys
import time
from typing import Any

from agents.dev.bench_inprocess import encoded_alerts
from pipeline.decode.columnar import ColumnarReader
from pipeline.decode.schemas import LATEST_SCHEMA_ID, parsed_schema
from pipeline.decode.wire import decode_record, encode_wire
from pipeline.synthetic.alerts import synthetic_alerts

SOURCE_FIELDS = ["diaSourceId", "diaObjectId", "midpointMjdTai", "psfFlux", "psfFluxErr", "band", "reliability", "ra", "dec"]
FORCED_FIELDS = ["psfFlux", "psfFluxErr", "midpointMjdTai", "band"]


def worker_projection(schema: dict[str, Any]) -> dict[str, list[str] | None]:
    """What the worker reads of an alert: the sources' photometry, and all of the (small) diaObject."""
    [dia_object] = [f["type"] for f in schema["fields"] if f["name"] == "diaObject"]
    [record] = [branch for branch in dia_object if branch != "null"]
    return {"diaSourceId": None, "diaSource": SOURCE_FIELDS, "prvDiaSources": SOURCE_FIELDS,
            "prvDiaForcedSources": FORCED_FIELDS, "diaObject": [f["name"] for f in record["fields"]]}


def bench_columnar(n: int = 5000, seed: int = 1, batch: int = 500, repeats: int = 5, cutouts: int = 0) -> str:
    """Alerts/s of both paths, each the best of `repeats` passes over the same messages, the two
    paths taking turns so that a busy machine slows both alike; `cutouts`: bytes per cutout, if any."""
    if cutouts:
        messages = [encode_wire(a, LATEST_SCHEMA_ID) for a in synthetic_alerts(n, seed, cutouts=True, cutout_size=cutouts)]
    else:
        messages = encoded_alerts(n, seed)
    schema = parsed_schema(LATEST_SCHEMA_ID)
    reader = ColumnarReader(schema, worker_projection(schema))
    batches = [[m[5:] for m in messages[i:i + batch]] for i in range(0, n, batch)]

    def columnar() -> None:
        for bodies in batches:
            assert reader.read(bodies).ok.all()

    def cavro() -> None:
        for message in messages:
            decode_record(message)

    paths = {"cavro full decode (decode_record)": cavro, f"columnar, worker projection, batches of {batch}": columnar}
    seconds = dict.fromkeys(paths, float("inf"))
    for _ in range(repeats):
        for name, step in paths.items():
            seconds[name] = min(seconds[name], _seconds(step))
    rows = [f"{name:<48}{n / s:>12,.0f} alerts/s{s / n * 1e3:>10.4f} ms/alert" for name, s in seconds.items()]
    cavro_s, columnar_s = seconds.values()
    title = f"{n} synthetic alerts, seed {seed}{f', cutouts of {cutouts} bytes' if cutouts else ''}, best of {repeats}"
    return "\n".join([title, *rows, f"columnar / cavro: {cavro_s / columnar_s:.1f}x"])


def _seconds(step: Any) -> float:
    start = time.perf_counter()
    step()
    return time.perf_counter() - start


if __name__ == "__main__":
    print(bench_columnar(*(int(a) for a in sys.argv[1:6])))
