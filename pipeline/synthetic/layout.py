"""What the v11 schema says about each record type (float32 fields, nullable numbers), and per-band running
aggregates as the diaObject reports them."""
from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from functools import lru_cache
from operator import itemgetter
from typing import Any, Callable

from pipeline.decode.schemas import parsed_schema
from .cadence import _NAN, BANDS, SCHEMA_ID


@dataclass(frozen=True, slots=True)
class _Layout:
    """What the schema says about one record type, read once: its float fields (rounded
    to float32 so records equal what a decoder returns) and the nullable numbers that may
    be blanked."""

    names: tuple[str, ...]
    float32: Callable[[dict[str, Any]], None]
    blankable: tuple[str, ...]


def _branch(avro_type: Any) -> tuple[str, bool]:
    if isinstance(avro_type, list):
        (inner,) = [t for t in avro_type if t != "null"]
        return (inner if isinstance(inner, str) else inner["type"]), True
    return (avro_type if isinstance(avro_type, str) else avro_type["type"]), False


def _layout(record_schema: dict[str, Any], never_blank: tuple[str, ...] = ()) -> _Layout:
    names, floats, blankable = [], [], []
    for f in record_schema["fields"]:
        kind, nullable = _branch(f["type"])
        names.append(f["name"])
        if kind == "float":
            floats.append(f["name"])
        if nullable and kind in ("float", "double") and f["name"] not in never_blank:
            blankable.append(f["name"])
    get = itemgetter(*floats)
    packer = struct.Struct(f"<{len(floats)}f")
    keys = tuple(floats)

    def float32(d: dict[str, Any]) -> None:
        d.update(zip(keys, packer.unpack(packer.pack(*get(d)))))

    return _Layout(tuple(names), float32, tuple(blankable))


@lru_cache(maxsize=None)
def _layouts() -> dict[str, _Layout]:
    named = parsed_schema(SCHEMA_ID)["__named_schemas"]
    return {
        "diaSource": _layout(named["lsst.v11_0.diaSource"], ("timeWithdrawnMjdTai",)),
        "diaObject": _layout(named["lsst.v11_0.diaObject"]),
        "diaForcedSource": _layout(named["lsst.v11_0.diaForcedSource"], ("timeWithdrawnMjdTai",)),
    }


class _BandStats:
    """Running per-band aggregates of one object, as the diaObject reports them."""

    __slots__ = ("n", "sw", "swf", "sf", "sff", "lo", "hi", "slope", "last_t", "last_f",
                 "se", "sci_w", "sci_wf", "fp_w", "fp_wf")

    def __init__(self) -> None:
        self.n = 0
        self.sw = self.swf = self.sf = self.sff = self.se = 0.0
        self.sci_w = self.sci_wf = self.fp_w = self.fp_wf = 0.0
        self.lo, self.hi, self.slope = math.inf, -math.inf, -math.inf
        self.last_t = self.last_f = _NAN

    def add_source(self, t: float, f: Any, e: Any, sci: Any, sci_e: Any) -> None:
        # Like Rubin's pipeline, skip null/NaN measurements (x == x is False for NaN).
        if f is not None and e is not None and f == f and e == e and e > 0:
            w = 1.0 / (e * e)
            self.n += 1
            self.sw += w
            self.swf += w * f
            self.sf += f
            self.sff += f * f
            self.se += e
            self.lo = min(self.lo, f)
            self.hi = max(self.hi, f)
            if self.n > 1 and t > self.last_t:
                self.slope = max(self.slope, (f - self.last_f) / (t - self.last_t))
            self.last_t, self.last_f = t, f
        if sci is not None and sci_e is not None and sci == sci and sci_e == sci_e and sci_e > 0:
            w = 1.0 / (sci_e * sci_e)
            self.sci_w += w
            self.sci_wf += w * sci

    def add_forced(self, f: Any, e: Any) -> None:
        if f is not None and e is not None and f == f and e == e and e > 0:
            w = 1.0 / (e * e)
            self.fp_w += w
            self.fp_wf += w * f

    def write(self, d: dict[str, Any], keys: tuple[str, ...]) -> None:
        n = self.n
        if n > 1:
            sigma = math.sqrt(max(self.sff / n - (self.sf / n) ** 2, 0.0) * n / (n - 1))
            slope = self.slope
        else:
            sigma = slope = _NAN
        if n:
            values = (self.swf / self.sw, self.sw ** -0.5, sigma, n, self.lo, self.hi, slope, self.se / n)
        else:
            values = (_NAN, _NAN, _NAN, 0, _NAN, _NAN, _NAN, _NAN)
        fp = (self.fp_wf / self.fp_w, self.fp_w ** -0.5) if self.fp_w else (_NAN, _NAN)
        sci = (self.sci_wf / self.sci_w, self.sci_w ** -0.5) if self.sci_w else (_NAN, _NAN)
        d.update(zip(keys, values + fp + sci))


_STATS_KEYS = {
    b: tuple(f"{b}_{k}" for k in (
        "psfFluxMean", "psfFluxMeanErr", "psfFluxSigma", "psfFluxNdata", "psfFluxMin",
        "psfFluxMax", "psfFluxMaxSlope", "psfFluxErrMean", "fpFluxMean", "fpFluxMeanErr",
        "scienceFluxMean", "scienceFluxMeanErr"))
    for b in BANDS
}
