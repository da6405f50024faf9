"""Lasair's `objects` row for one alert: what every user filter is evaluated against.

`objects_row` fills all 65 columns of `pipeline.features.columns.COLUMNS`, plain Python over one
alert's lists: one pass to pick the usable measurements out of the diaSources, then short passes
over those. It is the reference and the single-alert path; `columnar.objects_columns` computes the
same columns for a whole micro-batch in numpy, equal to these rows bit for bit.

Definitions are Lasair's (lsst-uk/lasair-lsst pipeline/filter/alert/features/); docs/fidelity.md
lists every column as "as Lasair" or the difference and why. In short:

* No diaObject (a solar-system source): no row at all (None), so no filter can match it.
* Missing: null and NaN/inf are SQL NULL; no NaN or inf is ever output.
* lsst columns are copied from the diaObject (`decl` <- `dec`); a null/NaN value there is taken
  from the diaSources when they can supply it (`diaObjectId`, `ra`/`decl` of the latest source
  with a position, first/last `midpointMjdTai`).
* Sources, as Lasair's util.getFluxTimeBand: a diaSource with a null psfFlux is dropped from
  every feature (counts, reliability, fluxes, jumps, pairs); one with a NaN psfFlux is kept: it
  counts, and if it is the latest of its band, <band>_psfFlux is NULL with its MJD.
  n<band>Sources counts the kept sources; nPosDiaSources those with psfFlux > 0;
  nPosDiaSourcesNights their observing nights, floor(mjd - 0.5) (Rubin's dayObs, 12:00 UTC
  rollover; Lasair's int(mjd + 0.5) groups the same). medianR, latestR and nSourcesGood
  (reliability > 0.5) use the kept sources whose reliability is known.
* jump1/jump2 (jump.py): per band, baseline = sources of age 10 < T - t < 70 days (T = the latest
  kept source), at least 5; recent = 0 < age < 10 days, so not the triggering detection; a band's
  jump is max |f - mean| / sd (sample sd). jump1 is the largest band jump, jump2 the next; 0.0
  where there is none (as Lasair), including a flat baseline (sd 0, where Lasair divides by zero).
* Pairs (pair.py): scanning back from the latest kept source, each two consecutive sources in
  different bands less than 40 minutes apart form a pair; the first is the latest pair, the next
  the penultimate (they may share a source). A pair whose flux is NaN or not positive takes its
  slot with NULL columns. Fluxes are corrected for extinction, f 10^(0.4 E(B-V) A_b/E(B-V)) with
  Schlafly & Finkbeiner (2011) coefficients; colour = bluer - redder magnitude; the temperature
  (kK) is the blackbody's with that f_nu ratio at Lasair's wavelengths (0.38-1.00 um, hc/k =
  14.387), NULL outside 0.5-1000 kK. Unlike Lasair, a pair whose later detection is the bluer band,
  or whose temperature Lasair's Newton iteration loses (negative step, no convergence), is
  computed: Lasair's bugs, not its definitions.
* ebv: the SFD map at (ra, decl), see dust.py; glat uses Lasair's pole (Dec 27.1283).
"""
from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from typing import Any

from pipeline.decode.alert import Alert
from .columns import COLUMN_NAMES, FROM_DIA_OBJECT, INTEGER_COLUMNS
from .dust import dust_map
from .htm import htm_id
from .sky import galactic_latitude

BANDS = "ugrizy"

NULL_COLUMNS: dict[str, str] = {
    "tns_name": "needs the Transient Name Server cross-match, an outside service",
    "timestamp": "set by the database when the row is written, not by the alert",
    "absMag": "needs a host-galaxy distance from the Sherlock context classifier",
    "absMagMJD": "needs a host-galaxy distance from the Sherlock context classifier",
    "BBBRiseRate": "Bazin/exponential blackbody light-curve fit: a least-squares fit too slow per alert",
    "BBBFallRate": "Bazin/exponential blackbody light-curve fit: a least-squares fit too slow per alert",
    "BBBTemp": "Bazin/exponential blackbody light-curve fit: a least-squares fit too slow per alert",
    "BBBPeakFlux": "Bazin/exponential blackbody light-curve fit: a least-squares fit too slow per alert",
    "BBBPeakMJD": "Bazin/exponential blackbody light-curve fit: a least-squares fit too slow per alert",
    "BBBPeakAbsMag": "needs both the Bazin fit and a Sherlock host distance",
}

GOOD_RELIABILITY = 0.5
JUMP_RECENT_DAYS = 10.0
JUMP_BASELINE_DAYS = 70.0  # the baseline spans ages JUMP_RECENT_DAYS..JUMP_BASELINE_DAYS
JUMP_MIN_BASELINE = 5
PAIR_MAX_GAP_DAYS = 40.0 / (24 * 60)

# Lasair's band wavelengths (pair.py), microns, and its h c / k in micron kilokelvin.
WAVELENGTH_UM = {"u": 0.38, "g": 0.50, "r": 0.62, "i": 0.74, "z": 0.88, "y": 1.00}
HC_OVER_K_UM_KK = 14.387
# A_band / E(B-V) for R_V = 3.1: Schlafly & Finkbeiner (2011, ApJ 737, 103) Table 6, as Lasair uses.
EXTINCTION_PER_EBV = {"u": 4.145, "g": 3.237, "r": 2.273, "i": 1.684, "z": 1.323, "y": 1.088}
TEMPERATURE_RANGE_KK = (0.5, 1000.0)

Point = tuple[float, float | None, str | None]  # (midpointMjdTai, psfFlux or None if NaN, band)


def objects_row(alert: Alert) -> dict[str, Any] | None:
    """The `objects` row for `alert` (keys are COLUMN_NAMES in order, NULL as None), or None without a diaObject."""
    if alert.diaObject is None:
        return None  # a solar-system source: Lasair writes no `objects` row, so no filter can match it
    row: dict[str, Any] = dict.fromkeys(COLUMN_NAMES)
    _copy_dia_object(row, alert.diaObject)
    _fill_from_sources(row, alert)

    points, counts, reliabilities = _scan(alert.diaSourcesList)
    row.update(counts)
    _add_latest_fluxes(row, points)
    _add_positive_counts(row, points)
    _add_reliability(row, reliabilities)
    row["jump1"], row["jump2"] = _jumps(points)

    if row["ra"] is not None and row["decl"] is not None:
        row["glat"] = galactic_latitude(row["ra"], row["decl"])
        row["htm16"] = htm_id(row["ra"], row["decl"], 16)
        row["ebv"] = dust_map().ebv_one(row["ra"], row["decl"])
    _add_pairs(row, points, row["ebv"] or 0.0)
    return row


def _finite(value: Any) -> float | None:
    """The value as a float, or None if it is null, NaN or infinite (all mean SQL NULL)."""
    if value is None:
        return None
    value = float(value)
    return value if value - value == 0.0 else None


def _copy_dia_object(row: dict[str, Any], obj: dict[str, Any] | None) -> None:
    if obj is None:
        return
    for column, field in FROM_DIA_OBJECT.items():
        value = _finite(obj.get(field))
        if value is not None and column in INTEGER_COLUMNS:
            value = int(obj[field])  # exact: 64-bit ids do not survive a float
        row[column] = value


def _fill_from_sources(row: dict[str, Any], alert: Alert) -> None:
    """Derive the lsst columns the diaObject did not supply (see the module docstring)."""
    sources = alert.diaSourcesList
    if row["diaObjectId"] is None and alert.diaObjectId is not None:
        row["diaObjectId"] = int(alert.diaObjectId)
    if row["ra"] is None or row["decl"] is None:
        for src in reversed(sources):
            ra, dec = _finite(src.get("ra")), _finite(src.get("dec"))
            if ra is not None and dec is not None:
                row["ra"], row["decl"] = ra, dec
                break
    if row["firstDiaSourceMjdTai"] is None or row["lastDiaSourceMjdTai"] is None:
        times = [t for t in (_finite(s.get("midpointMjdTai")) for s in sources) if t is not None]
        if times:
            if row["firstDiaSourceMjdTai"] is None:
                row["firstDiaSourceMjdTai"] = min(times)
            if row["lastDiaSourceMjdTai"] is None:
                row["lastDiaSourceMjdTai"] = max(times)


def _scan(sources: list[dict[str, Any]]) -> tuple[list[Point], dict[str, int], list[float]]:
    """One pass, as Lasair's util.getFluxTimeBand: a source with a null psfFlux is dropped from
    everything; one with a NaN psfFlux is kept (counted, and the latest of its band) with flux None.

    Returns the points (time order), per-band source counts and the known reliabilities.
    """
    counts = dict.fromkeys(BANDS, 0)
    points: list[Point] = []
    reliabilities: list[float] = []
    for src in sources:
        if src.get("psfFlux") is None:
            continue
        band = src.get("band")
        if band in counts:
            counts[band] += 1
        reliability = _finite(src.get("reliability"))
        if reliability is not None:
            reliabilities.append(reliability)
        mjd = _finite(src.get("midpointMjdTai"))
        if mjd is not None:
            points.append((mjd, _finite(src["psfFlux"]), band))
    return points, {f"n{b}Sources": n for b, n in counts.items()}, reliabilities


def _add_latest_fluxes(row: dict[str, Any], points: list[Point]) -> None:
    if not points:
        return
    row["latest_psfFlux"] = points[-1][1]
    for mjd, flux, band in points:  # time order, so the latest of each band wins, NaN (None) or not
        if band in WAVELENGTH_UM:
            row[f"{band}_psfFlux"] = flux
            row[f"{band}_latestMJD"] = mjd


def _add_positive_counts(row: dict[str, Any], points: list[Point]) -> None:
    positive = [mjd for mjd, flux, _ in points if flux is not None and flux > 0.0]
    row["nPosDiaSources"] = len(positive)
    row["nPosDiaSourcesNights"] = len({math.floor(mjd - 0.5) for mjd in positive})


def _add_reliability(row: dict[str, Any], reliabilities: list[float]) -> None:
    row["nSourcesGood"] = sum(1 for r in reliabilities if r > GOOD_RELIABILITY)
    if reliabilities:
        row["medianR"] = statistics.median(reliabilities)
        row["latestR"] = reliabilities[-1]


def _jumps(points: list[Point]) -> tuple[float, float]:
    """(jump1, jump2): the two largest per-band jumps, in different bands; 0.0 where there is none."""
    if not points:
        return 0.0, 0.0
    now = points[-1][0]
    recent: dict[str, list[float]] = {}
    baseline: dict[str, list[float]] = {}
    for mjd, flux, band in reversed(points):
        age = now - mjd
        if age >= JUMP_BASELINE_DAYS:
            break
        if band is None or flux is None:
            continue
        if 0.0 < age < JUMP_RECENT_DAYS:
            recent.setdefault(band, []).append(flux)
        elif age > JUMP_RECENT_DAYS:
            baseline.setdefault(band, []).append(flux)
    return top_two_jumps(band_jump(baseline[band], fluxes) for band, fluxes in recent.items() if band in baseline)


def band_jump(baseline: Sequence[float], recent: Sequence[float]) -> float | None:
    """max |recent - mean| / sd over one band's baseline, or None with too short or a flat baseline."""
    if len(baseline) < JUMP_MIN_BASELINE:
        return None
    mean = math.fsum(baseline) / len(baseline)
    sd = math.sqrt(math.fsum((f - mean) ** 2 for f in baseline) / (len(baseline) - 1))
    return max(abs(f - mean) for f in recent) / sd if sd > 0.0 else None


def top_two_jumps(jumps: Iterable[float | None]) -> tuple[float, float]:
    """(jump1, jump2) from the bands' jumps (None: no jump in that band); 0.0 where there is none."""
    found = sorted((j for j in jumps if j is not None), reverse=True) + [0.0, 0.0]
    return found[0], found[1]


def _add_pairs(row: dict[str, Any], points: list[Point], ebv: float) -> None:
    for prefix, pair in zip(("latest", "penultimate"), _pairs(points)):
        if pair is None:
            continue  # Lasair's slot is taken by a pair without a colour: its columns stay NULL
        row[f"{prefix}PairMJD"], row[f"{prefix}PairColourMag"], row[f"{prefix}PairColourBands"], row[
            f"{prefix}PairColourTemp"] = pair[0], *_colour(*pair[1:], ebv)


def _pairs(points: list[Point]) -> list[tuple[float, float, str, float, str] | None]:
    """Lasair's two most recent pairs, latest first: (later mjd, f1, b1, f2, b2), or None where there is no colour.

    A pair is two time-consecutive sources in different bands less than 40 minutes apart; the
    second pair may share a source with the first. A pair with a flux that is NaN or not positive,
    or an unknown band, has no colour but still takes its slot, as in Lasair.
    """
    found: list[tuple[float, float, str, float, str] | None] = []
    for i in range(len(points) - 1, 0, -1):
        t2, f2, b2 = points[i]
        t1, f1, b1 = points[i - 1]
        if t2 - t1 < PAIR_MAX_GAP_DAYS and b1 != b2:
            usable = f1 is not None and f2 is not None and f1 > 0.0 and f2 > 0.0 and b1 in WAVELENGTH_UM and b2 in WAVELENGTH_UM
            found.append((t2, f1, b1, f2, b2) if usable else None)
            if len(found) == 2:
                break
    return found


def _colour(f1: float, b1: str, f2: float, b2: str, ebv: float) -> tuple[float, str, float | None]:
    """(blue - red magnitude, "blue-red", blackbody temperature in kK), both from extinction-corrected fluxes."""
    if WAVELENGTH_UM[b1] > WAVELENGTH_UM[b2]:
        f1, b1, f2, b2 = f2, b2, f1, b1
    ratio = f1 / f2 * 10.0 ** (0.4 * ebv * (EXTINCTION_PER_EBV[b1] - EXTINCTION_PER_EBV[b2]))
    return -2.5 * math.log10(ratio), f"{b1}-{b2}", blackbody_temperature(ratio, b1, b2)


def blackbody_flux_ratio(temperature_kk: float, blue: str, red: str) -> float:
    """f_nu(blue) / f_nu(red) of a blackbody at T kK; nJy fluxes are f_nu, so this is what they measure.

    (l_red / l_blue)^3 (e^(hc/k l_red T) - 1) / (e^(hc/k l_blue T) - 1).
    """
    lb, lr = WAVELENGTH_UM[blue], WAVELENGTH_UM[red]
    return (lr / lb) ** 3 * math.expm1(HC_OVER_K_UM_KK / (lr * temperature_kk)) / math.expm1(
        HC_OVER_K_UM_KK / (lb * temperature_kk)
    )


def blackbody_temperature(ratio: float, blue: str, red: str) -> float | None:
    """Temperature (kK) whose blue/red f_nu ratio is `ratio`, or None if outside the range.

    The ratio rises monotonically with T, so bisection in log T is robust and deterministic;
    30 halvings of the 0.5-1000 kK range give ~3e-9 relative precision.
    """
    coolest, hottest = TEMPERATURE_RANGE_KK
    if not blackbody_flux_ratio(coolest, blue, red) <= ratio <= blackbody_flux_ratio(hottest, blue, red):
        return None
    lo, hi = math.log(coolest), math.log(hottest)
    for _ in range(30):
        mid = 0.5 * (lo + hi)
        if blackbody_flux_ratio(math.exp(mid), blue, red) < ratio:
            lo = mid
        else:
            hi = mid
    return math.exp(0.5 * (lo + hi))
