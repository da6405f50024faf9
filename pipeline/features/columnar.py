"""The `objects` columns of a whole micro-batch at once, as numpy columns.

`objects_row` (objects.py, whose docstring states every rule) stays the per-alert reference; this
is the same computation over a `History`, equal to `ColumnBatch.from_rows` of the rows bit for bit:
FLOAT columns float64 with NaN under NULL, INT int64 with 0, STR object arrays with ''. Where
numpy's SIMD transcendental functions differ from math's in the last ulp (sin, cos, exp, log10,
pow), the small piece is computed per value with math and the rest vectorised.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.filters.batch import COLUMN_KINDS
from pipeline.filters.ir import FLOAT, INT
from .columnar_pairs import Points, pair_columns
from .columns import COLUMN_NAMES, FROM_DIA_OBJECT
from .dust import dust_map
from .history import Column, History
from .htm import htm_ids
from .objects import BANDS, GOOD_RELIABILITY, JUMP_BASELINE_DAYS, JUMP_MIN_BASELINE, JUMP_RECENT_DAYS, band_jump, top_two_jumps
from .objects_ext import OBJECTS_EXT_NAMES
from .sky import galactic_latitude, galactic_lb_one

ALL_COLUMNS: tuple[str, ...] = (*COLUMN_NAMES, *OBJECTS_EXT_NAMES)


def objects_columns(history: History) -> dict[str, Column]:
    """Every column of COLUMN_NAMES and OBJECTS_EXT_NAMES for every alert (alerts without a diaObject: any values)."""
    n = history.n_alerts
    sources = _Sorted.of(history)
    out: dict[str, Column] = {}
    for column, field in (*FROM_DIA_OBJECT.items(), *((name, name) for name in OBJECTS_EXT_NAMES)):
        out[column] = history.dia_object.get(field) or _null(n)  # a field the alert's schema lacks is NULL
    _fill_from_sources(out, sources, n)

    kept = ~sources.flux_null  # a null psfFlux drops the source from every feature
    counted = kept & (sources.band >= 0) & (sources.band < len(BANDS))
    width = len(BANDS)
    counts = np.bincount(sources.alert[counted] * width + sources.band[counted], minlength=width * n).reshape(n, width)
    for code, band in enumerate(BANDS):
        out[f"n{band}Sources"] = (counts[:, code], np.zeros(n, dtype=bool))
    _add_reliability(out, sources, kept, n)

    points = Points.of(sources.alert, sources.t, sources.flux, sources.band, kept & np.isfinite(sources.t))
    _add_latest_fluxes(out, points, n)
    _add_positive_counts(out, points, n)
    out["jump1"], out["jump2"] = _jumps(points, n)

    ebv = _add_sky(out, n)
    out.update(pair_columns(points, ebv, n))
    return {name: _as_batch_column(name, *out.get(name, _null(n))) for name in ALL_COLUMNS}


@dataclass
class _Sorted:
    """The batch's diaSources, each alert's sorted by time as normalise() sorts them (stable, null or NaN
    time as 0.0), null psfFlux included (the position and time fallbacks read every source)."""

    alert: np.ndarray
    t: np.ndarray  # NaN where null
    flux: np.ndarray  # NaN where null or not finite
    flux_null: np.ndarray
    band: np.ndarray  # int: 0-5 for ugrizy, 6+ another text, -1 null
    reliability: np.ndarray  # NaN where null
    ra: np.ndarray
    dec: np.ndarray

    @classmethod
    def of(cls, history: History) -> _Sorted:
        m = len(history.source_alert)
        src = {name: history.sources.get(name) or _null(m) for name in ("midpointMjdTai", "psfFlux", "reliability", "ra", "dec")}
        t = _nan_where_null(*src["midpointMjdTai"])
        key = np.where(np.isnan(t), 0.0, t)
        alert = history.source_alert.astype(np.int64, copy=False)
        in_order = (alert[1:] > alert[:-1]) | ((alert[1:] == alert[:-1]) & (key[1:] >= key[:-1]))
        # usually already sorted (time-ordered prvDiaSources, then the trigger); else a stable sort
        order = slice(None) if in_order.all() else np.lexsort((np.arange(len(t)), key, alert))
        band_names, band_nulls = history.sources.get("band") or (np.full(m, None), np.ones(m, dtype=bool))
        band_names = band_names.tolist()
        codes: dict[object, int] = {None: -1, **{band: code for code, band in enumerate(BANDS)}}
        for other in set(band_names).difference(codes):
            codes[other] = len(codes) - 1
        band = np.fromiter(map(codes.__getitem__, band_names), dtype=np.int64, count=len(band_names))
        band[band_nulls] = -1
        flux, flux_null = src["psfFlux"][0].astype(np.float64, copy=False), src["psfFlux"][1]
        return cls(
            alert=alert[order], t=t[order],
            flux=np.where(np.isfinite(flux), flux, np.nan)[order], flux_null=flux_null[order],
            band=band[order], reliability=_nan_where_null(*src["reliability"])[order],
            ra=_nan_where_null(*src["ra"])[order], dec=_nan_where_null(*src["dec"])[order],
        )


def _fill_from_sources(out: dict[str, Column], sources: _Sorted, n: int) -> None:
    """objects_row's _fill_from_sources: ra/decl from the latest source with both, first/last time."""
    ra, ra_null = _float(*out["ra"])
    decl, decl_null = _float(*out["decl"])
    need = ra_null | decl_null
    with_position = np.isfinite(sources.ra) & np.isfinite(sources.dec)
    latest = _last_per_alert(sources.alert[with_position], n)
    fill = need & (latest >= 0)
    ra, decl = np.where(fill, _at(sources.ra[with_position], latest), ra), np.where(fill, _at(sources.dec[with_position], latest), decl)
    out["ra"], out["decl"] = (ra, ra_null & ~fill), (decl, decl_null & ~fill)
    timed = np.isfinite(sources.t)  # sorted, so an alert's first and last finite times are its min and max
    times = sources.t[timed]
    for column, pick in (("firstDiaSourceMjdTai", _first_per_alert), ("lastDiaSourceMjdTai", _last_per_alert)):
        values, nulls = _float(*out[column])
        at = pick(sources.alert[timed], n)
        fill = nulls & (at >= 0)
        out[column] = (np.where(fill, _at(times, at), values), nulls & ~fill)


def _add_reliability(out: dict[str, Column], sources: _Sorted, kept: np.ndarray, n: int) -> None:
    known = kept & np.isfinite(sources.reliability)
    alert, reliability = sources.alert[known], sources.reliability[known]
    out["nSourcesGood"] = (np.bincount(alert[reliability > GOOD_RELIABILITY], minlength=n), np.zeros(n, dtype=bool))
    latest = _last_per_alert(alert, n)
    out["latestR"] = (_at(reliability, latest), latest < 0)
    # statistics.median: the middle of the sorted values, or the mean of the middle two. Each alert's
    # values are a row of a table padded with +inf, rows sorted stably (sorted()'s order, even for 0.0 and -0.0).
    count = np.bincount(alert, minlength=n)
    has = count > 0
    median = np.full(n, np.nan)
    if len(alert):
        table = np.full((n, int(count.max())), np.inf)
        table[alert, np.arange(len(alert)) - (np.cumsum(count) - count)[alert]] = reliability
        table.sort(axis=1, kind="stable")
        rows, upper, lower = np.arange(n), count // 2, (count - 1) // 2
        median = np.where(count % 2 == 1, table[rows, upper], (table[rows, lower] + table[rows, upper]) / 2)
    out["medianR"] = (median, ~has)


def _add_latest_fluxes(out: dict[str, Column], points: Points, n: int) -> None:
    latest = _last_per_alert(points.alert, n)
    out["latest_psfFlux"] = (_at(points.flux, latest), latest < 0)
    for code, band in enumerate(BANDS):  # time order, so the latest of each band wins, NaN or not
        mine = points.band == code
        latest = _last_per_alert(points.alert[mine], n)
        out[f"{band}_psfFlux"] = (_at(points.flux[mine], latest), latest < 0)
        out[f"{band}_latestMJD"] = (_at(points.t[mine], latest), latest < 0)


def _add_positive_counts(out: dict[str, Column], points: Points, n: int) -> None:
    positive = points.flux > 0.0  # NaN is not
    alert, night = points.alert[positive], np.floor(points.t[positive] - 0.5)
    # time-sorted, so an alert's nights do not decrease: count the changes
    new_night = np.ones(len(alert), dtype=bool)
    new_night[1:] = (alert[1:] != alert[:-1]) | (night[1:] != night[:-1])
    zeros = np.zeros(n, dtype=bool)
    out["nPosDiaSources"] = (np.bincount(alert, minlength=n), zeros)
    out["nPosDiaSourcesNights"] = (np.bincount(alert[new_night], minlength=n), zeros)


def _jumps(points: Points, n: int) -> tuple[Column, Column]:
    """Baseline and recent points are counted per (alert, band) in numpy; only the groups with a recent
    point and 5 baseline points take objects.band_jump (math.fsum) in Python."""
    jumps, zeros = np.zeros((2, n)), np.zeros(n, dtype=bool)
    if not len(points.alert):
        return (jumps[0], zeros), (jumps[1], zeros)
    age = points.t[_last_per_alert(points.alert, n)][points.alert] - points.t
    usable = (age < JUMP_BASELINE_DAYS) & (points.band >= 0) & np.isfinite(points.flux)
    recent = usable & (0.0 < age) & (age < JUMP_RECENT_DAYS)
    baseline = usable & (age > JUMP_RECENT_DAYS)
    n_bands = max(int(points.band.max()) + 1, 1)
    group = points.alert * n_bands + points.band
    n_baseline = np.bincount(group[baseline], minlength=n * n_bands)
    qualifies = (np.bincount(group[recent], minlength=n * n_bands) > 0) & (n_baseline >= JUMP_MIN_BASELINE)
    chosen = recent | baseline
    chosen[chosen] = qualifies[group[chosen]]
    # the chosen points by group, each group's baseline first, as slices of one list
    key = group[chosen] * 2 + recent[chosen]
    order = np.argsort(key, kind="stable")
    fluxes, groups = points.flux[chosen][order].tolist(), key[order] // 2
    starts = np.flatnonzero(np.append(True, groups[1:] != groups[:-1])) if len(groups) else groups
    ends = [*starts[1:].tolist(), len(fluxes)]
    by_alert: dict[int, list[float | None]] = {}
    for g, start, split, end in zip(groups[starts].tolist(), starts.tolist(), (starts + n_baseline[groups[starts]]).tolist(), ends):
        by_alert.setdefault(g // n_bands, []).append(band_jump(fluxes[start:split], fluxes[split:end]))
    for alert, band_jumps in by_alert.items():
        jumps[:, alert] = top_two_jumps(band_jumps)
    return (jumps[0], zeros), (jumps[1], zeros)


def _add_sky(out: dict[str, Column], n: int) -> np.ndarray:
    """glat, htm16 and ebv where the position is known; returns the E(B-V) the pair colours use (0.0 without)."""
    ra, ra_null = out["ra"]
    decl, decl_null = out["decl"]
    where = np.flatnonzero(~ra_null & ~decl_null)
    ras, decs = ra[where].tolist(), decl[where].tolist()
    unknown = np.ones(n, dtype=bool)
    unknown[where] = False
    glat, htm16, ebv = np.full(n, np.nan), np.zeros(n, dtype=np.int64), np.zeros(n)
    glat[where] = list(map(galactic_latitude, ras, decs))
    htm16[where] = htm_ids(ras, decs, 16)
    if len(where):
        lon, lat = np.array(list(map(galactic_lb_one, ras, decs))).T
        ebv[where] = dust_map().ebv_galactic(lon, lat)
    out["glat"], out["htm16"], out["ebv"] = (glat, unknown), (htm16, unknown), (ebv, unknown)
    return ebv


def _last_per_alert(alert: np.ndarray, n: int) -> np.ndarray:
    """Index of each alert's last item in `alert` (sorted), -1 for an alert with none."""
    index = np.full(n, -1, dtype=np.int64)
    if len(alert):
        ends = np.flatnonzero(np.append(alert[1:] != alert[:-1], True))
        index[alert[ends]] = ends
    return index


def _at(values: np.ndarray, index: np.ndarray) -> np.ndarray:
    """values[index] as floats, NaN where index is -1 (nothing there)."""
    if not len(values):
        return np.full(len(index), np.nan)
    return np.where(index >= 0, values[index], np.nan)


def _first_per_alert(alert: np.ndarray, n: int) -> np.ndarray:
    """Index of each alert's first item in `alert` (sorted), -1 for an alert with none."""
    index = np.full(n, -1, dtype=np.int64)
    if len(alert):
        starts = np.flatnonzero(np.insert(alert[1:] != alert[:-1], 0, True))
        index[alert[starts]] = starts
    return index


def _nan_where_null(values: np.ndarray, nulls: np.ndarray) -> np.ndarray:
    return np.where(nulls, np.nan, values.astype(np.float64, copy=False))


def _float(values: np.ndarray, nulls: np.ndarray) -> Column:
    """NULL where null, NaN or infinite (the row's rule), NaN under every NULL."""
    nulls = nulls | ~np.isfinite(values)
    return np.where(nulls, np.nan, values), nulls


def _null(n: int) -> Column:
    return np.zeros(n), np.ones(n, dtype=bool)


def _as_batch_column(name: str, values: np.ndarray, nulls: np.ndarray) -> Column:
    """The column as ColumnBatch holds it: its kind's dtype and filler under NULL."""
    kind = COLUMN_KINDS[name]
    if kind == FLOAT:
        return _float(values.astype(np.float64, copy=False), nulls)
    if kind == INT:
        return np.where(nulls, 0, values).astype(np.int64, copy=False), nulls
    text = np.empty(len(values), dtype=object)
    text[:] = ["" if null else value for value, null in zip(values.tolist(), nulls.tolist())]
    return text, nulls

