"""Galactic coordinates from J2000 (ICRS) positions, without astropy.coordinates.

`glat` is Lasair's column: b from the angle to the north Galactic pole, with Lasair's pole
(milkyWay.py: RA 192.85948, Dec 27.1283; the IAU value is 27.12825, 5e-5 deg away). `galactic_lb`
is the full rotation (both l and b, vectorised) used to look positions up in the dust map.
"""
from __future__ import annotations

import math

import numpy as np

# North Galactic pole in J2000 as Lasair writes it.
NGP_RA_DEG = 192.85948
NGP_DEC_DEG = 27.1283

_SIN_NGP_DEC = math.sin(math.radians(NGP_DEC_DEG))
_COS_NGP_DEC = math.cos(math.radians(NGP_DEC_DEG))

# ICRS -> Galactic rotation (Hipparcos vol. 1, sect. 1.5.3; the matrix astropy uses).
_ICRS_TO_GALACTIC = np.array([
    [-0.0548755604162154, -0.8734370902348850, -0.4838350155487132],
    [+0.4941094278755837, -0.4448296299600112, +0.7469822444972189],
    [-0.8676661490190047, -0.1980763734312015, +0.4559837761750669],
])

_ROWS = tuple(tuple(float(c) for c in row) for row in _ICRS_TO_GALACTIC)


def galactic_latitude(ra_deg: float, dec_deg: float) -> float:
    """Galactic latitude b in degrees for a J2000 position in degrees (Lasair's `glat`)."""
    dec = math.radians(dec_deg)
    sin_b = math.sin(dec) * _SIN_NGP_DEC + math.cos(dec) * _COS_NGP_DEC * math.cos(
        math.radians(ra_deg - NGP_RA_DEG)
    )
    return math.degrees(math.asin(max(-1.0, min(1.0, sin_b))))


def galactic_lb_one(ra_deg: float, dec_deg: float) -> tuple[float, float]:
    """`galactic_lb` for one position, in plain floats: per alert, numpy's per-call overhead would dominate."""
    ra, dec = math.radians(ra_deg), math.radians(dec_deg)
    cos_dec = math.cos(dec)
    v = (cos_dec * math.cos(ra), cos_dec * math.sin(ra), math.sin(dec))
    x, y, z = (row[0] * v[0] + row[1] * v[1] + row[2] * v[2] for row in _ROWS)
    return math.degrees(math.atan2(y, x)) % 360.0, math.degrees(math.asin(max(-1.0, min(1.0, z))))


def galactic_lb(ra_deg: np.ndarray, dec_deg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(l in [0, 360), b) in degrees for arrays of ICRS positions in degrees."""
    ra, dec = np.radians(ra_deg), np.radians(dec_deg)
    cos_dec = np.cos(dec)
    x, y, z = _ICRS_TO_GALACTIC @ np.stack((cos_dec * np.cos(ra), cos_dec * np.sin(ra), np.sin(dec)))
    return np.degrees(np.arctan2(y, x)) % 360.0, np.degrees(np.arcsin(np.clip(z, -1.0, 1.0)))
