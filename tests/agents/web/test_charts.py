"""The server-drawn charts: a record's light curve and records per hour."""
from __future__ import annotations

import re

from agents.web.charts import BAND_COLOURS, hourly_bars, light_curve, per_hour

HOUR_MS = 3_600_000


def source(t: float, flux: float | None, band: str, err: float = 10.0) -> dict[str, object]:
    return {"midpointMjdTai": t, "psfFlux": flux, "psfFluxErr": err, "band": band}


def test_light_curve_has_a_point_per_source_with_flux_coloured_by_band_forced_ones_hollow() -> None:
    alert = {"diaSourcesList": [source(61000.1, 500.0, "g"), source(61001.2, 800.0, "r"), source(61002.0, None, "r")],
             "diaForcedSourcesList": [source(60990.5, -20.0, "g"), source(float("nan"), 5.0, "i")]}
    svg = str(light_curve(alert, "Light curve of 42"))
    points = re.findall(r'<circle class="pt band-(\w)"[^>]* fill="([^"]+)" stroke="([^"]+)"', svg)
    assert sorted(points) == sorted([("g", BAND_COLOURS["g"], BAND_COLOURS["g"]), ("r", BAND_COLOURS["r"], BAND_COLOURS["r"]),
                                     ("g", "white", BAND_COLOURS["g"])])
    assert 'aria-label="Light curve of 42: flux in nJy against MJD, bands g, r"' in svg
    xs = [float(x) for x in re.findall(r'<circle[^>]* cx="([\d.]+)"', svg)]
    assert xs[2] < xs[0] < xs[1]  # forced (earliest MJD) left of the detections: time runs left to right


def test_light_curve_says_why_there_is_none() -> None:
    assert "plain records carry no alert" in light_curve(None, "x")
    assert "no sources with flux" in light_curve({"diaSourcesList": [source(61000.0, None, "g")]}, "x")


def test_names_in_the_payload_are_escaped() -> None:
    svg = str(light_curve({"diaSourcesList": [source(61000.0, 1.0, "<b>")]}, "<script>"))
    assert "<script>" not in svg and "<b>" not in svg and "&lt;b&gt;" in svg


def test_per_hour_counts_the_last_seven_days_by_utc_hour() -> None:
    now = 1_780_000_000.0  # 2026-05-28 20:26:40 UTC
    this_hour_ms = int(now // 3600) * HOUR_MS
    stamps = [this_hour_ms + 5, this_hour_ms + 10, this_hour_ms - 1, this_hour_ms - 167 * HOUR_MS, this_hour_ms - 168 * HOUR_MS]
    counts, first = per_hour(stamps, now)
    assert len(counts) == 168 and first * 1000 == this_hour_ms - 167 * HOUR_MS
    assert (counts[-1], counts[-2], counts[0], sum(counts)) == (2, 1, 1, 4)  # the one 168 hours back is outside


def test_hourly_bars_state_the_total_and_peak() -> None:
    counts = [0] * 166 + [3, 5]
    svg = str(hourly_bars(counts, 0.0, "Records per hour"))
    assert 'aria-label="Records per hour: 8 in all, at most 5 in one hour"' in svg and svg.count("<rect") == 2

