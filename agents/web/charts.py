"""Small charts drawn on the server as inline SVG: a record's light curve and matches per hour.

No JavaScript library: the page is readable at once, prints, and works with scripts off.
"""
from __future__ import annotations

import math
import time
from collections.abc import Sequence
from html import escape
from typing import Any

from markupsafe import Markup

BAND_COLOURS = {"u": "#6a3d9a", "g": "#1b9e77", "r": "#d95f02", "i": "#a6761d", "z": "#666666", "y": "#222222"}
OTHER_COLOUR = "#1f78b4"


def _ticks(low: float, high: float, count: int = 4) -> list[float]:
    """Round tick values covering [low, high]."""
    if high <= low:
        return [low]
    raw = (high - low) / count
    step = 10 ** math.floor(math.log10(raw))
    step *= next(m for m in (1, 2, 5, 10) if step * m >= raw)
    first = math.ceil(low / step) * step
    return [first + i * step for i in range(int((high - first) / step) + 1)]


def _label(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 100 or value == int(value) else f"{value:.2g}"


def _points(sources: Any, forced: bool) -> list[tuple[float, float, float, str, bool]]:
    points = []
    for s in sources or ():
        if not isinstance(s, dict):
            continue
        t, flux, err = s.get("midpointMjdTai"), s.get("psfFlux"), s.get("psfFluxErr")
        if isinstance(t, (int, float)) and isinstance(flux, (int, float)) and math.isfinite(t) and math.isfinite(flux):
            error = err if isinstance(err, (int, float)) and math.isfinite(err) else 0.0
            points.append((float(t), float(flux), float(error), str(s.get("band") or "?"), forced))
    return points


def light_curve(alert: Any, title: str, width: int = 360, height: int = 150) -> Markup:
    """Flux (nJy) against MJD per band: detections filled, forced photometry hollow, with error bars."""
    if not isinstance(alert, dict):
        return Markup('<p class="muted">No light curve: plain records carry no alert.</p>')
    points = _points(alert.get("diaSourcesList"), False) + _points(alert.get("diaForcedSourcesList"), True)
    if not points:
        return Markup('<p class="muted">No light curve: the alert has no sources with flux.</p>')
    left, right, top, bottom = 52, 8, 18, 22
    t0, t1 = min(p[0] for p in points), max(p[0] for p in points)
    f0 = min(min(p[1] - p[2] for p in points), 0.0)
    f1 = max(max(p[1] + p[2] for p in points), 0.0)
    if t1 == t0:
        t0, t1 = t0 - 0.5, t1 + 0.5
    if f1 == f0:
        f1 = f0 + 1.0

    def x(t: float) -> float:
        return left + (t - t0) / (t1 - t0) * (width - left - right)

    def y(f: float) -> float:
        return top + (f1 - f) / (f1 - f0) * (height - top - bottom)

    bands = sorted({p[3] for p in points}, key=lambda b: ("ugrizy".find(b) % 7, b))
    parts = [f'<svg class="lc" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
             f'aria-label="{escape(title)}: flux in nJy against MJD, bands {escape(", ".join(bands))}">',
             f"<title>{escape(title)}</title>",
             f'<line class="axis" x1="{left}" y1="{y(0):.1f}" x2="{width - right}" y2="{y(0):.1f}"/>']
    for f in _ticks(f0, f1, 3):
        parts.append(f'<text class="tick" x="{left - 4}" y="{y(f) + 3:.1f}" text-anchor="end">{_label(f)}</text>')
    decimals = max(0, min(4, 1 - math.floor(math.log10(t1 - t0))))
    for t in _ticks(t0, t1, 3):
        parts.append(f'<text class="tick" x="{x(t):.1f}" y="{height - 6}" text-anchor="middle">{t:.{decimals}f}</text>')
    parts.append(f'<text class="tick" x="{width - right}" y="11" text-anchor="end">flux (nJy) vs MJD; hollow: forced</text>')
    for t, f, e, band, forced in points:
        colour = BAND_COLOURS.get(band, OTHER_COLOUR)
        if e:
            parts.append(f'<line x1="{x(t):.1f}" y1="{y(f - e):.1f}" x2="{x(t):.1f}" y2="{y(f + e):.1f}" stroke="{colour}" stroke-width="0.8"/>')
        fill = "white" if forced else colour
        parts.append(f'<circle class="pt band-{escape(band)}" cx="{x(t):.1f}" cy="{y(f):.1f}" r="2.4" fill="{fill}" stroke="{colour}"/>')
    for i, band in enumerate(bands):
        colour = BAND_COLOURS.get(band, OTHER_COLOUR)
        parts.append(f'<text class="legend" x="{left + 12 * i}" y="11" fill="{colour}">{escape(band)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def hourly_bars(counts: Sequence[int], first_hour: float, title: str, width: int = 720, height: int = 110) -> Markup:
    """One bar per hour, oldest left; `first_hour` is the epoch second the first bar starts at."""
    left, bottom, top = 36, 18, 6
    peak = max(max(counts, default=0), 1)
    step = (width - left - 4) / max(len(counts), 1)
    parts = [f'<svg class="hourly" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
             f'aria-label="{escape(title)}: {sum(counts)} in all, at most {peak} in one hour">', f"<title>{escape(title)}</title>",
             f'<line class="axis" x1="{left}" y1="{height - bottom}" x2="{width - 4}" y2="{height - bottom}"/>',
             f'<text class="tick" x="{left - 4}" y="{top + 8}" text-anchor="end">{peak}</text>',
             f'<text class="tick" x="{left - 4}" y="{height - bottom}" text-anchor="end">0</text>']
    for i, n in enumerate(counts):
        if n:
            h = n / peak * (height - bottom - top)
            parts.append(f'<rect x="{left + i * step:.1f}" y="{height - bottom - h:.1f}" width="{max(step - 0.5, 0.5):.1f}" height="{h:.1f}"/>')
        if (first_hour + i * 3600) % 86400 == 0 and left + i * step < width - 30:
            day = time.strftime("%m-%d", time.gmtime(first_hour + i * 3600))
            parts.append(f'<text class="tick" x="{left + i * step:.1f}" y="{height - 4}">{day}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def per_hour(timestamps_ms: Sequence[int], now: float, hours: int = 168) -> tuple[list[int], float]:
    """Counts per UTC hour over the last `hours` hours up to now, and the epoch second the first hour starts."""
    end_hour = math.floor(now / 3600) + 1
    first = end_hour - hours
    counts = [0] * hours
    for ms in timestamps_ms:
        index = math.floor(ms / 3_600_000) - first
        if 0 <= index < hours:
            counts[index] += 1
    return counts, first * 3600.0
