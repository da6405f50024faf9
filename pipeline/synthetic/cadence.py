"""Where and when synthetic objects are seen: constants of the survey, bands, nights, visits, cadence."""
from __future__ import annotations

import math
import random
from bisect import bisect_right
from datetime import date, timedelta
from functools import lru_cache
from itertools import accumulate

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


def _history_length(rng: random.Random, kind: str) -> int:
    """Previous detections at an object's first alert: many short, some long (mean ~35)."""
    if kind == "bogus":
        return 1 + min(int(rng.expovariate(1.0)), 3)
    if rng.random() < (0.4 if kind == "sn" else 0.25):
        return 1 + min(int(rng.expovariate(1 / 3)), 9)
    return rng.randint(10, 70) if kind == "sn" else rng.randint(15, 100)


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
