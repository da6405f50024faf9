"""objects.absMag / absMagMJD: the brightest absolute magnitude of the light curve at the host's distance, as Lasair computes it.

Only for the classifications where the host distance is the transient's (SN, NT) and ORPHAN,
which Lasair lists too but which has no distance, so it yields NULL in practice. The distance
modulus comes from best_distance (no K-term), else from the spec-z in Sherlock's cosmology minus
2.5·log10(1 + z). Each diaSource flux is corrected for Galactic extinction with the SFD E(B−V)
when one is given; without one (None) the fluxes are used as measured.
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from .cosmology import luminosity_distance_mpc

ABSMAG_CLASSIFICATIONS = frozenset({"SN", "NT", "ORPHAN"})
EXTINCTION_K = {"u": 4.145, "g": 3.237, "r": 2.273, "i": 1.684, "z": 1.323, "y": 1.088}  # A_band / E(B−V)
NJY_ZERO_POINT = 31.4  # AB magnitude of 1 nJy


def distance_modulus(sherlock_row: dict[str, Any]) -> float | None:
    best, z = sherlock_row.get("best_distance"), sherlock_row.get("z")
    if best:
        return 5 * math.log10(best * 1e6) - 5
    if z:
        return 5 * math.log10(float(luminosity_distance_mpc(z)) * 1e6) - 5 - 2.5 * math.log10(1 + z)
    return None


def applies(sherlock_row: dict[str, Any] | None) -> bool:
    """Whether Lasair gives an absolute magnitude for this classification at all (before reading any source)."""
    return sherlock_row is not None and sherlock_row.get("classification") in ABSMAG_CLASSIFICATIONS


def abs_mag(dia_sources: Iterable[dict[str, Any]], sherlock_row: dict[str, Any] | None, ebv: float | None) -> tuple[float | None, float | None]:
    """(absMag, absMagMJD) from diaSources with psfFlux (nJy), band and midpointMjdTai; (None, None) when it does not apply."""
    if not applies(sherlock_row):
        return None, None
    mu = distance_modulus(sherlock_row)
    if mu is None:
        return None, None
    best: tuple[float, float] | None = None
    for source in sorted(dia_sources, key=lambda s: s["midpointMjdTai"]):
        flux = source.get("psfFlux")
        if flux is None or not flux > 0:  # also skips NaN
            continue
        if ebv is not None:
            flux *= 10 ** (ebv * EXTINCTION_K.get(source["band"], 0.0) / 2.5)
        mag = NJY_ZERO_POINT - 2.5 * math.log10(flux) - mu
        if best is None or mag < best[0]:
            best = (mag, source["midpointMjdTai"])
    return best if best is not None else (None, None)
