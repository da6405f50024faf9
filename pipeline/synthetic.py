"""Synthetic Rubin v11.0 alerts, shaped and sized like the real stream.

Decoding, feature and filter benchmarks and tests need many alerts offline, the same on
every run, whose history lengths, value ranges, null patterns and encoded sizes resemble
Rubin's. So objects are simulated rather than fields filled at random: each object
(a transient, a periodic variable, an AGN or a bogus detection) gets a light curve sampled
at a Rubin-like cadence, its brightest epochs become diaSources, every epoch since shortly
before its first detection gets forced photometry, and each of its alerts carries the
history before it, so an object's histories grow as it recurs.

Objects are interleaved from a pool of `_ACTIVE_OBJECTS`, which bounds memory and keeps
consecutive alerts mostly unrelated; in exchange the stream is not globally ordered in
time (each object's alerts are). Alerts of one object share their source dicts, as a
copy per alert would triple the memory of a materialised list: treat records as
read-only, or deep-copy before mutating.
"""
from __future__ import annotations

import math
import random
import struct
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from itertools import accumulate
from operator import itemgetter
from typing import Any, Callable, Iterator

from pipeline.schemas import parsed_schema
from pipeline.wire import encode_wire as _encode_wire

SCHEMA_ID = 1100
MJD_START, MJD_END = 61000, 61400
MAX_HISTORY = 100
# Real cutouts are ~140-360 kB FITS; a few kB of opaque random bytes keep benchmarks light
# while still exercising the bytes path. Pass `cutout_size` for real-sized ones.
DEFAULT_CUTOUT_SIZE = 3072
_ACTIVE_OBJECTS = 64  # enough that consecutive alerts rarely share an object

BANDS = "ugrizy"
# Share of LSST visits per band (LSST overview paper, Ivezic et al. 2019).
_BAND_CUM = tuple(accumulate((0.07, 0.10, 0.22, 0.22, 0.20, 0.19)))
# Single-visit 5-sigma depth (AB mag); a difference image has sqrt(2) times the noise.
_M5 = {"u": 23.9, "g": 25.0, "r": 24.7, "i": 24.0, "z": 23.3, "y": 22.1}
_DIFF_SIGMA = {b: 10 ** ((31.4 - m) / 2.5) / 5 * math.sqrt(2) for b, m in _M5.items()}
_N_DETECTORS, _CCD_NX, _CCD_NY = 189, 4072, 4000
_PIXEL_SCALE = 0.2  # arcsec per pixel
_IDS_PER_OBJECT = 512  # > its most epochs (182) times two (a diaSource and a forced source)
_ID_COUNTER_MASK = (1 << 35) - 1
_KINDS = ("sn", "var", "agn", "bogus")
_KIND_CUM = tuple(accumulate((0.30, 0.35, 0.20, 0.15)))
# Scheduler metadata (RTN-096/097): footprint region as target_name, observing mode as reason.
_REGIONS = ("lowdust",) * 8 + ("galactic_plane", "galactic_plane", "virgo", "dd_cosmos")

# Sets of flags raised together (a Center flag implies its footprint flag), with weights.
_FLAG_SETS = (
    ("pixelFlags_interpolated",),
    ("pixelFlags_interpolated", "pixelFlags_interpolatedCenter"),
    ("pixelFlags_cr",),
    ("pixelFlags_cr", "pixelFlags_crCenter"),
    ("pixelFlags_suspect",),
    ("pixelFlags_suspect", "pixelFlags_suspectCenter"),
    ("pixelFlags_saturated",),
    ("pixelFlags_saturated", "pixelFlags_saturatedCenter"),
    ("pixelFlags_bad",),
    ("pixelFlags_streak",),
    ("pixelFlags_edge", "psfFlux_flag", "psfFlux_flag_edge", "trail_flag_edge"),
    ("apFlux_flag", "apFlux_flag_apertureTruncated"),
    ("shape_flag",),
    ("shape_flag", "shape_flag_not_contained"),
    ("centroid_flag",),
)
_FLAG_CUM = tuple(accumulate((10, 4, 6, 2, 4, 2, 2, 1, 2, 1, 2, 1, 4, 1, 1)))
_TRAIL_FIELDS = ("trailFlux", "trailFluxErr", "trailRa", "trailRaErr", "trailDec",
                 "trailDecErr", "trailLength", "trailLengthErr", "trailAngle",
                 "trailAngleErr", "trailChi2")
_DIPOLE_FIELDS = ("dipoleMeanFlux", "dipoleMeanFluxErr", "dipoleFluxDiff",
                  "dipoleFluxDiffErr", "dipoleLength", "dipoleAngle", "dipoleChi2")
_NAN = float("nan")


def _band(rng: random.Random) -> str:
    return BANDS[bisect_right(_BAND_CUM, rng.random() * _BAND_CUM[-1])]


@lru_cache(maxsize=1024)
def _day_obs(mjd: int) -> int:
    """YYYYMMDD of integer MJD `mjd`; Rubin's day_obs is that of (observation MJD - 0.5)."""
    d = date(1858, 11, 17) + timedelta(days=mjd)
    return d.year * 10000 + d.month * 100 + d.day


def _wrap_ra(ra: float) -> float:
    ra %= 360.0
    return 0.0 if ra >= 360.0 else ra  # -1e-17 % 360.0 rounds to 360.0


def _visit(t: float) -> int:
    """LSSTCam exposure id: day_obs * 100000 + sequence number within the night."""
    return _day_obs(math.floor(t - 0.5)) * 100000 + int(((t - 0.5) % 1.0 - 0.4) * 2400)


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


def _history_length(rng: random.Random, kind: str) -> int:
    """Previous detections at an object's first alert: many short, some long (mean ~35)."""
    if kind == "bogus":
        return 1 + min(int(rng.expovariate(1.0)), 3)
    if rng.random() < (0.4 if kind == "sn" else 0.25):
        return 1 + min(int(rng.expovariate(1 / 3)), 9)
    return rng.randint(10, 70) if kind == "sn" else rng.randint(15, 100)


class _Object:
    """One simulated diaObject: its whole history built at once, then handed out alert by
    alert, each alert seeing only what came before it."""

    def __init__(self, seed: int, id_block: int) -> None:
        # Its own generator and id block, so it does not depend on how alerts interleave.
        self.rng = rng = random.Random(seed)
        self.id_counter = id_block * _IDS_PER_OBJECT
        k = _KINDS[bisect_right(_KIND_CUM, rng.random() * _KIND_CUM[-1])]
        self.kind = k
        self.n_hist = _history_length(rng, k)
        self.n_alerts = min(1 + int(rng.expovariate(1 / 4.0)), MAX_HISTORY + 1 - self.n_hist)
        self.sent = 0
        self.ra0 = rng.random() * 360.0
        # Uniform on the sphere south of dec +30, a little inside so scatter stays inside.
        self.dec0 = math.degrees(math.asin(rng.uniform(-0.99998, 0.499)))
        self.cos_dec = max(math.cos(math.radians(self.dec0)), 1e-3)
        self.region = "south_celestial_pole" if self.dec0 < -62 else rng.choice(_REGIONS)
        slope = rng.gauss(0.0, 0.25)  # colour: mag per band step
        self.color = {b: 10 ** (-0.4 * slope * (i - 2)) for i, b in enumerate(BANDS)}
        self.extendedness = {"sn": (0.3, 1.0), "var": (0.0, 0.05), "agn": (0.6, 1.0),
                             "bogus": (0.0, 1.0)}[k]
        self.det: list[tuple[dict[str, Any], str | None]] = []
        self.stats = {b: _BandStats() for b in BANDS}
        self.folded_det = self.folded_forced = 0
        self.sum_dra = self.sum_ddec = self.sum_err = 0.0

    def _simulate(self) -> None:
        """Build the whole history; deferred to the first alert, so that a short stream
        does not pay for the pool it never draws from."""
        rng = self.rng
        n_det = self.n_hist + self.n_alerts
        n_epochs = n_det + max(1, round(n_det * rng.uniform(0.15, 0.8)))
        ts, bands, reasons = _cadence(rng, n_epochs, self.region)
        fluxes, template = self._light_curve(ts, bands)
        r = rng.random
        seeing = [0.6 + 0.7 * r() for _ in ts]
        sigma = [_DIFF_SIGMA[b] * s / 0.8 * (0.9 + 0.2 * r()) for b, s in zip(bands, seeing)]
        detectors = [int(r() * _N_DETECTORS) for _ in ts]
        measured = [f + rng.gauss(0.0, s) for f, s in zip(fluxes, sigma)]
        # The most significant epochs are the detections.
        ranked = sorted(range(n_epochs), key=lambda i: abs(measured[i]) / sigma[i], reverse=True)
        detected = sorted(ranked[:n_det])
        for i in detected:  # a diaSource needs |S/N| >= 5
            if abs(measured[i]) < 5 * sigma[i]:
                measured[i] = math.copysign(sigma[i] * (5 + rng.expovariate(3.0)), measured[i])
        first = ts[detected[0]]
        self.first_mjd = first
        for i in detected:
            d = self._dia_source(ts[i], bands[i], detectors[i], seeing[i], sigma[i], measured[i],
                                 fluxes[i] + template[bands[i]], template[bands[i]])
            self.det.append((d, reasons[i]))
        self.object_id = self.det[0][0]["diaSourceId"]
        for d, _ in self.det:
            d["diaObjectId"] = self.object_id
        # Forced photometry from 30 days before the first detection (precovery) onward.
        start = bisect_left(ts, first - 30.0)
        self.forced = []
        self.has_forced = rng.random() >= 0.03  # a few objects have none yet
        if self.has_forced:
            on_det = set(detected)
            for i in range(start, n_epochs):
                f = measured[i] + (rng.gauss(0.0, 0.05 * sigma[i]) if i in on_det else 0.0)
                self.forced.append(self._forced_source(ts[i], bands[i], detectors[i], sigma[i], f,
                                                       fluxes[i] + template[bands[i]]))
        self.forced_t = [f["midpointMjdTai"] for f in self.forced]

    def _light_curve(self, ts: list[float], bands: list[str]) -> tuple[list[float], dict[str, float]]:
        """True difference flux per epoch and the template (reference) flux per band."""
        rng, col, kind = self.rng, self.color, self.kind
        if kind == "sn":
            peak = 10 ** ((31.4 - rng.uniform(18.0, 22.5)) / 2.5)
            span = ts[-1] - ts[0]
            t0 = ts[0] + span * rng.uniform(0.1, 0.35)
            rise, fall = rng.uniform(2.0, 10.0), max(10.0, span * rng.uniform(0.15, 0.4))
            fluxes = [peak * col[b] * math.exp(-(t - t0) / fall) / (1 + math.exp(min(-(t - t0) / rise, 700.0)))
                      for t, b in zip(ts, bands)]
            host = 0.0 if rng.random() < 0.2 else 10 ** ((31.4 - rng.uniform(19.5, 25.0)) / 2.5)
            return fluxes, {b: host * col[b] for b in BANDS}
        if kind == "var":
            base = 10 ** ((31.4 - rng.uniform(15.5, 21.0)) / 2.5)
            amp = base * rng.uniform(0.05, 0.5)
            omega = 2 * math.pi / math.exp(rng.uniform(math.log(0.1), math.log(300.0)))
            phase = rng.uniform(0, 2 * math.pi)
            fluxes = [amp * col[b] * math.sin(omega * t + phase) for t, b in zip(ts, bands)]
        elif kind == "agn":  # damped random walk
            base = 10 ** ((31.4 - rng.uniform(18.5, 22.0)) / 2.5)
            scale, tau = base * rng.uniform(0.05, 0.25), rng.uniform(30.0, 300.0)
            x, last, fluxes = rng.gauss(0.0, scale), ts[0], []
            for t, b in zip(ts, bands):
                decay = math.exp(-(t - last) / tau)
                x = x * decay + scale * math.sqrt(1 - decay * decay) * rng.gauss(0.0, 1.0)
                last = t
                fluxes.append(x * col[b])
        else:  # bogus: nothing real, only noise peaks
            base = 10 ** ((31.4 - rng.uniform(14.0, 22.0)) / 2.5)
            fluxes = [0.0] * len(ts)
        return fluxes, {b: base * col[b] for b in BANDS}

    def _new_id(self, t: float, visit: int, detector: int) -> int:
        """A 64-bit id laid out like Rubin's (night, visit sequence and detector in the high
        bits); the low 35 bits count within the object's block, which makes ids unique."""
        self.id_counter += 1
        day = int(t - MJD_START + 100) & 0x1FF
        return day << 54 | (visit % 100000 & 0x7FF) << 43 | detector << 35 | self.id_counter & _ID_COUNTER_MASK

    def _dia_source(self, t: float, band: str, detector: int, seeing: float, sigma: float,
                    flux: float, science: float, template: float) -> dict[str, Any]:
        # The hot loop: plain rng.random() arithmetic instead of rng.uniform() and few gauss().
        rng = self.rng
        r = rng.random
        bogus = self.kind == "bogus"
        ferr = sigma * (0.95 + 0.1 * r())
        snr = abs(flux) / ferr * (0.95 + 0.1 * r())
        pos_err = 0.7 / 3600 * seeing / max(snr, 3.0)
        ra_err, dec_err = pos_err * (0.8 + 0.4 * r()), pos_err * (0.8 + 0.4 * r())
        ra = _wrap_ra(self.ra0 + rng.gauss(0.0, ra_err) / self.cos_dec)
        dec = self.dec0 + rng.gauss(0.0, dec_err)
        visit = _visit(t)
        psf_mom = (seeing / 2.355) ** 2
        ext_lo, ext_hi = self.extendedness
        ext = ext_lo + (ext_hi - ext_lo) * r()
        bbox = int(12 + 8 * seeing / 0.7 * (1 + math.log10(1 + snr / 5)))
        ndata = int(bbox * bbox * (0.6 + 0.4 * r()))
        chi2 = ndata * ((1.2 + 1.8 * r()) if bogus else (0.8 + 0.5 * r()))
        pix_err = pos_err * 3600 / _PIXEL_SCALE
        sci_err = math.sqrt(0.5 * sigma * sigma + abs(science))
        dipole_fit = r() < 0.9
        is_dipole = dipole_fit and r() < (0.4 if bogus else 0.03)
        reliability = (0.4 * r() ** 1.5) if bogus else 1.0 - 0.5 * r() ** 4
        d = {
            "diaSourceId": self._new_id(t, visit, detector),
            "visit": visit,
            "detector": detector,
            "diaObjectId": None,  # set once the object's first source has its id
            "ssObjectId": None,
            "parentDiaSourceId": None,
            "midpointMjdTai": t,
            "ra": ra,
            "raErr": ra_err,
            "dec": dec,
            "decErr": dec_err,
            "ra_dec_Cov": ra_err * dec_err * (-0.3 + 0.6 * r()),
            "x": _CCD_NX * r(),
            "xErr": pix_err * (0.9 + 0.2 * r()),
            "y": _CCD_NY * r(),
            "yErr": pix_err * (0.9 + 0.2 * r()),
            "centroid_flag": False,
            "apFlux": flux + rng.gauss(0.0, 0.7 * sigma),
            "apFluxErr": sigma * (1.6 + 0.6 * r()),
            "apFlux_flag": False,
            "apFlux_flag_apertureTruncated": False,
            "isNegative": flux < 0,
            "snr": snr,
            "psfFlux": flux,
            "psfFluxErr": ferr,
            "psfLnL": -0.5 * chi2 - ndata * (0.9 + 0.2 * r()),
            "psfChi2": chi2,
            "psfNdata": ndata,
            "psfFlux_flag": False,
            "psfFlux_flag_edge": False,
            "psfFlux_flag_noGoodPixels": False,
            "trailFlux": flux * (0.95 + 0.15 * r()),
            "trailFluxErr": ferr * (1.05 + 0.25 * r()),
            "trailRa": ra,
            "trailRaErr": ra_err * 1.2,
            "trailDec": dec,
            "trailDecErr": dec_err * 1.2,
            "trailLength": 0.9 * r() * r(),
            "trailLengthErr": 0.1 + 0.4 * r(),
            "trailAngle": 180.0 * r(),
            "trailAngleErr": 5.0 + 55.0 * r(),
            "trailChi2": chi2 * (0.95 + 0.1 * r()),
            "trailNdata": ndata,
            "trail_flag_edge": False,
            "dipoleMeanFlux": abs(flux) * (0.5 + 0.4 * r()),
            "dipoleMeanFluxErr": sigma * (0.7 + 0.3 * r()),
            "dipoleFluxDiff": abs(flux) * (0.5 + 1.5 * r()) if is_dipole else rng.gauss(0.0, sigma),
            "dipoleFluxDiffErr": sigma * (1.2 + 0.4 * r()),
            "dipoleLength": (0.5 + 1.5 * r()) if is_dipole else 0.6 * r(),
            "dipoleAngle": 360.0 * r(),
            "dipoleChi2": chi2 * (0.9 + 0.15 * r()),
            "dipoleNdata": ndata,
            "scienceFlux": science + rng.gauss(0.0, sci_err),
            "scienceFluxErr": sci_err,
            "forced_PsfFlux_flag": False,
            "forced_PsfFlux_flag_edge": False,
            "forced_PsfFlux_flag_noGoodPixels": False,
            "templateFlux": template + sigma * (0.6 * r() - 0.3),
            "templateFluxErr": sigma * (0.2 + 0.2 * r()),
            "ixx": psf_mom * (1 + ext * r()),
            "iyy": psf_mom * (1 + ext * r()),
            "ixy": psf_mom * (0.1 * r() - 0.05),
            "ixxPSF": psf_mom * (0.95 + 0.1 * r()),
            "iyyPSF": psf_mom * (0.95 + 0.1 * r()),
            "ixyPSF": psf_mom * (0.04 * r() - 0.02),
            "shape_flag": False,
            "shape_flag_no_pixels": False,
            "shape_flag_not_contained": False,
            "shape_flag_parent_source": False,
            "extendedness": ext,
            "reliability": reliability,
            "band": band,
            "isDipole": is_dipole,
            "dipoleFitAttempted": dipole_fit,
            "timeProcessedMjdTai": t + (1.0 + 3.0 * r()) / 1440,
            "timeWithdrawnMjdTai": None,
            "bboxSize": bbox,
            "pixelFlags": False,
            "pixelFlags_bad": False,
            "pixelFlags_cr": False,
            "pixelFlags_crCenter": False,
            "pixelFlags_edge": False,
            "pixelFlags_nodata": False,
            "pixelFlags_nodataCenter": False,
            "pixelFlags_interpolated": False,
            "pixelFlags_interpolatedCenter": False,
            "pixelFlags_offimage": False,
            "pixelFlags_saturated": False,
            "pixelFlags_saturatedCenter": False,
            "pixelFlags_suspect": False,
            "pixelFlags_suspectCenter": False,
            "pixelFlags_streak": False,
            "pixelFlags_streakCenter": False,
            "pixelFlags_injected": False,
            "pixelFlags_injectedCenter": False,
            "pixelFlags_injected_template": False,
            "pixelFlags_injected_templateCenter": False,
            "glint_trail": False,
        }
        layout = _layouts()["diaSource"]
        layout.float32(d)
        if r() < 0.25:
            for name in _FLAG_SETS[bisect_right(_FLAG_CUM, r() * _FLAG_CUM[-1])]:
                d[name] = True
        # Blanks as in real alerts: failed fits give NaN blocks, and the odd lone null/NaN.
        if not dipole_fit:
            d.update(dict.fromkeys(_DIPOLE_FIELDS, _NAN))
        if r() < 0.03:
            d.update(dict.fromkeys(_TRAIL_FIELDS, _NAN))
        if r() < 0.3:
            for name in rng.sample(layout.blankable, rng.randint(1, 3)):
                d[name] = None if r() < 0.5 else _NAN
        return d

    def _forced_source(self, t: float, band: str, detector: int, sigma: float, flux: float,
                       science: float) -> dict[str, Any]:
        rng = self.rng
        r = rng.random
        visit = _visit(t)
        sci_err = math.sqrt(0.5 * sigma * sigma + abs(science))
        # Precovery epochs are measured the day after the object first appears.
        if t >= self.first_mjd:
            processed = t + (1.0 + 9.0 * r()) / 1440
        else:
            processed = self.first_mjd + 0.3 + 0.7 * r()
        d = {
            "diaForcedSourceId": self._new_id(t, visit, detector),
            "diaObjectId": self.object_id,
            "ra": self.ra0,
            "dec": self.dec0,
            "visit": visit,
            "detector": detector,
            "psfFlux": flux,
            "psfFluxErr": sigma * (0.95 + 0.1 * r()),
            "midpointMjdTai": t,
            "scienceFlux": science + rng.gauss(0.0, sci_err),
            "scienceFluxErr": sci_err,
            "band": band,
            "timeProcessedMjdTai": processed,
            "timeWithdrawnMjdTai": None,
        }
        layout = _layouts()["diaForcedSource"]
        layout.float32(d)
        if r() < 0.02:
            d[rng.choice(layout.blankable)] = None if r() < 0.5 else _NAN
        return d

    @property
    def remaining(self) -> int:
        return self.n_alerts - self.sent

    def next_alert(self) -> dict[str, Any]:
        """The object's next alert; its diaObject summarises all sources up to the trigger."""
        if not self.det:
            self._simulate()
        k = self.n_hist + self.sent
        self.sent += 1
        trigger, reason = self.det[k]
        t = trigger["midpointMjdTai"]
        n_forced = bisect_left(self.forced_t, t)
        self._fold(k + 1, n_forced)
        prv_forced = self.forced[max(0, n_forced - MAX_HISTORY):n_forced] if self.has_forced else None
        return {
            "diaSourceId": trigger["diaSourceId"],
            "observation_reason": reason,
            "target_name": self.region,
            "diaSource": trigger,
            "prvDiaSources": [d for d, _ in self.det[:k]],
            "prvDiaForcedSources": prv_forced,
            "diaObject": self._dia_object(trigger, k + 1),
            "ssSource": None,
            "mpc_orbits": None,
            "cutoutDifference": None,
            "cutoutScience": None,
            "cutoutTemplate": None,
        }

    def _fold(self, n_det: int, n_forced: int) -> None:
        """Add the sources since the previous alert to the running aggregates."""
        stats = self.stats
        for d, _ in self.det[self.folded_det:n_det]:
            stats[d["band"]].add_source(d["midpointMjdTai"], d["psfFlux"], d["psfFluxErr"],
                                        d["scienceFlux"], d["scienceFluxErr"])
            self.sum_dra += ((d["ra"] - self.ra0 + 180.0) % 360.0 - 180.0) * self.cos_dec
            self.sum_ddec += d["dec"] - self.dec0
            self.sum_err += d["raErr"] if d["raErr"] is not None and d["raErr"] == d["raErr"] else 1e-5
        for f in self.forced[self.folded_forced:n_forced]:
            stats[f["band"]].add_forced(f["psfFlux"], f["psfFluxErr"])
        self.folded_det, self.folded_forced = n_det, n_forced

    def _dia_object(self, trigger: dict[str, Any], n: int) -> dict[str, Any]:
        layout = _layouts()["diaObject"]
        err = self.sum_err / n / math.sqrt(n)
        d: dict[str, Any] = dict.fromkeys(layout.names)
        d.update(
            diaObjectId=self.object_id,
            validityStartMjdTai=trigger["timeProcessedMjdTai"] + 1e-5,
            ra=_wrap_ra(self.ra0 + self.sum_dra / n / self.cos_dec),
            raErr=err,
            dec=self.dec0 + self.sum_ddec / n,
            decErr=err,
            ra_dec_Cov=err * err * 0.1,
            firstDiaSourceMjdTai=self.first_mjd,
            lastDiaSourceMjdTai=trigger["midpointMjdTai"],
            nDiaSources=n,
        )
        for b in BANDS:
            self.stats[b].write(d, _STATS_KEYS[b])
        layout.float32(d)
        return d


def _cadence(rng: random.Random, n: int, region: str) -> tuple[list[float], list[str], list[str | None]]:
    """Epochs of one field: nights a few days apart, often a pair of visits in two bands
    30 minutes apart, all inside MJD_START..MJD_END; with each visit's scheduler reason."""
    gap = min(rng.uniform(2.0, 5.0), (MJD_END - MJD_START - 10) * 1.4 / (n + 1))
    night, epochs = 0, []
    while len(epochs) < n:
        frac = rng.uniform(-0.02, 0.37)  # ~23:30 to 09:00 UTC: night at Cerro Pachon
        b1 = _band(rng)
        if len(epochs) + 1 < n and rng.random() < 0.4:
            b2 = _band(rng)
            while b2 == b1:
                b2 = _band(rng)
            reason = f"pairs_{b1}{b2}_33"
            epochs.append((night + frac, b1, reason))
            epochs.append((night + frac + rng.uniform(15.0, 40.0) / 1440, b2, reason))
        else:
            epochs.append((night + frac, b1, "ddf" if region.startswith("dd_") else f"blob_long_{b1}"))
        night += 1 + int(rng.expovariate(1 / max(gap - 1, 0.05)))
    last = max(1, int(epochs[-1][0]))
    span = MJD_END - MJD_START - 5
    squeeze = min(1.0, span / last)  # merges nights rather than leave the window
    start = MJD_START + 1 + rng.randint(0, max(0, span - int(last * squeeze)))
    epochs = sorted((start + int(round(t) * squeeze) + (t - round(t)), b, r) for t, b, r in epochs)
    ts = [t for t, _, _ in epochs]
    bands = [b for _, b, _ in epochs]
    reasons = [None if rng.random() < 0.05 else r for _, _, r in epochs]
    return ts, bands, reasons


def synthetic_alerts(n: int, seed: int = 0, *, cutouts: bool = False,
                     cutout_size: int = DEFAULT_CUTOUT_SIZE) -> Iterator[dict[str, Any]]:
    """Yield `n` v11.0 alert records, identical for the same `seed`.

    With `cutouts`, each cutout field holds `cutout_size` pseudo-random bytes (not FITS)
    drawn from a separate generator, so the rest of each record does not depend on it.
    """
    if n < 0:
        raise ValueError("n must be >= 0")
    rng = random.Random(seed)
    cut_rng = random.Random(f"{seed}:cutouts")
    id_block = rng.randrange(1 << 24)  # streams of different seeds get different ids
    pool: list[_Object] = []
    for _ in range(n):
        while len(pool) < _ACTIVE_OBJECTS:
            pool.append(_Object(rng.getrandbits(64), id_block))
            id_block += 1
        i = rng.randrange(len(pool))
        obj = pool[i]
        alert = obj.next_alert()
        if not obj.remaining:
            pool[i] = pool[-1]
            pool.pop()
        if cutouts:
            for name in ("cutoutDifference", "cutoutScience", "cutoutTemplate"):
                alert[name] = cut_rng.randbytes(cutout_size)
        yield alert


def encode_wire(record: dict[str, Any], schema_id: int = SCHEMA_ID) -> bytes:
    """`pipeline.wire.encode_wire` defaulting to the schema these alerts are made for."""
    return _encode_wire(record, schema_id)


def synthetic_messages(n: int, seed: int = 0) -> Iterator[bytes]:
    """`synthetic_alerts` as Kafka messages in wire format."""
    return map(encode_wire, synthetic_alerts(n, seed))
