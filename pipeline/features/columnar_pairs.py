"""The latest and penultimate pair colours of a micro-batch as columns (objects.py's _pairs and _colour).

Pairs are found with numpy; the colour's power of ten and log10 and the temperature's final exp
are per pair in math, as objects_row computes them, since numpy's SIMD versions differ in the last
ulp. The blackbody bisection runs across all pairs in numpy and is exact by a guard: an iteration
whose numpy ratio lies within TOLERANCE of the target (where numpy's exp/expm1 could decide the
other way than math's) sends that pair to objects.blackbody_temperature.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .history import Column
from .objects import (
    BANDS,
    EXTINCTION_PER_EBV,
    HC_OVER_K_UM_KK,
    PAIR_MAX_GAP_DAYS,
    TEMPERATURE_RANGE_KK,
    WAVELENGTH_UM,
    blackbody_flux_ratio,
    blackbody_temperature,
)

# numpy's exp/expm1 are within a few ulp of math's; the ratio they give within ~3e-13 relative
# (expm1's argument reaches 76). A comparison farther than this from the target goes the same way.
TOLERANCE = 1e-11

_WAVELENGTH = np.array([WAVELENGTH_UM[b] for b in BANDS])
_EXTINCTION = np.array([EXTINCTION_PER_EBV[b] for b in BANDS])
_BAND_PAIRS = [(blue, red) for blue in range(len(BANDS)) for red in range(len(BANDS))]
_NAMES = np.array([f"{BANDS[blue]}-{BANDS[red]}" for blue, red in _BAND_PAIRS], dtype=object)
# Per (blue, red): the ratio at the coolest and the hottest temperature, and (l_red / l_blue)^3, all in math.
_RATIO_RANGE = np.array([[blackbody_flux_ratio(t, BANDS[blue], BANDS[red]) for t in TEMPERATURE_RANGE_KK]
                         for blue, red in _BAND_PAIRS])
_SCALE = np.array([(WAVELENGTH_UM[BANDS[red]] / WAVELENGTH_UM[BANDS[blue]]) ** 3 for blue, red in _BAND_PAIRS])


@dataclass
class Points:
    """objects.py's points for a batch: the kept sources with a finite time, each alert's in time order."""

    alert: np.ndarray
    t: np.ndarray
    flux: np.ndarray  # NaN where objects_row has None (NaN or infinite)
    band: np.ndarray  # 0-5 for ugrizy, 6+ another text, -1 null

    @classmethod
    def of(cls, alert: np.ndarray, t: np.ndarray, flux: np.ndarray, band: np.ndarray, mask: np.ndarray) -> Points:
        return cls(alert[mask], t[mask], flux[mask], band[mask])


def pair_columns(points: Points, ebv: np.ndarray, n: int) -> dict[str, Column]:
    """latest/penultimate Pair MJD, ColourMag, ColourBands, ColourTemp; `ebv` per alert (0.0 without a position)."""
    same_alert = points.alert[1:] == points.alert[:-1]
    close = points.t[1:] - points.t[:-1] < PAIR_MAX_GAP_DAYS
    later = np.flatnonzero(same_alert & close & (points.band[1:] != points.band[:-1])) + 1
    alert = points.alert[later]
    is_latest = np.append(alert[1:] != alert[:-1], True)[:len(alert)]  # the last pair of its alert
    # the penultimate pair is the one just before a latest pair, in the same alert (they may share a source)
    before_latest = np.zeros(len(later), dtype=bool)
    before_latest[:-1] = is_latest[1:] & ~is_latest[:-1]
    out: dict[str, Column] = {}
    for prefix, chosen in (("latest", later[is_latest]), ("penultimate", later[before_latest])):
        out.update(_slot(prefix, points, chosen, ebv, n))
    return out


def _slot(prefix: str, points: Points, later: np.ndarray, ebv: np.ndarray, n: int) -> dict[str, Column]:
    """One slot's columns; a pair with a flux NaN or not positive, or an unknown band, leaves them NULL."""
    f1, f2, b1, b2 = points.flux[later - 1], points.flux[later], points.band[later - 1], points.band[later]
    known = (b1 >= 0) & (b1 < len(BANDS)) & (b2 >= 0) & (b2 < len(BANDS))
    usable = (f1 > 0.0) & (f2 > 0.0) & known
    later, f1, f2, b1, b2 = later[usable], f1[usable], f2[usable], b1[usable], b2[usable]
    alert = points.alert[later]
    first_bluer = b1 < b2  # bands differ; codes go in wavelength order
    blue, red = np.where(first_bluer, b1, b2), np.where(first_bluer, b2, b1)
    quotient = np.where(first_bluer, f1, f2) / np.where(first_bluer, f2, f1)
    exponent = 0.4 * ebv[alert] * (_EXTINCTION[blue] - _EXTINCTION[red])
    ratio = quotient * np.array([10.0 ** e for e in exponent.tolist()])
    colour = np.array([-2.5 * math.log10(r) for r in ratio.tolist()])
    kind = blue * len(BANDS) + red
    temperature = _temperatures(ratio, kind)

    mjd, mag, temp = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    names = np.full(n, "", dtype=object)
    mjd[alert], mag[alert], names[alert], temp[alert] = points.t[later], colour, _NAMES[kind], temperature
    missing = np.ones(n, dtype=bool)
    missing[alert] = False
    return {f"{prefix}PairMJD": (mjd, missing), f"{prefix}PairColourMag": (mag, missing),
            f"{prefix}PairColourBands": (names, missing), f"{prefix}PairColourTemp": (temp, np.isnan(temp))}


def _temperatures(ratio: np.ndarray, kind: np.ndarray) -> np.ndarray:
    """objects.blackbody_temperature of each pair (NaN for its None), vectorised with the guard above."""
    result = np.full(len(ratio), np.nan)
    low, high = _RATIO_RANGE[kind, 0], _RATIO_RANGE[kind, 1]
    inside = np.flatnonzero((low <= ratio) & (ratio <= high))
    if not len(inside):
        return result
    target, kind = ratio[inside], kind[inside]
    scale, blue_um, red_um = _SCALE[kind], _WAVELENGTH[kind // len(BANDS)], _WAVELENGTH[kind % len(BANDS)]
    lo = np.full(len(inside), math.log(TEMPERATURE_RANGE_KK[0]))
    hi = np.full(len(inside), math.log(TEMPERATURE_RANGE_KK[1]))
    unsure = np.zeros(len(inside), dtype=bool)
    for _ in range(30):
        mid = 0.5 * (lo + hi)
        temp = np.exp(mid)
        value = scale * np.expm1(HC_OVER_K_UM_KK / (red_um * temp)) / np.expm1(HC_OVER_K_UM_KK / (blue_um * temp))
        unsure |= np.abs(value - target) <= TOLERANCE * target
        below = value < target
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    found = [math.exp(0.5 * (a + b)) for a, b in zip(lo.tolist(), hi.tolist())]
    for i in np.flatnonzero(unsure).tolist():
        k = int(kind[i])
        found[i] = blackbody_temperature(float(target[i]), BANDS[k // len(BANDS)], BANDS[k % len(BANDS)])
    result[inside] = found
    return result
