"""Galactic latitude from J2000 (ICRS) coordinates, without astropy.

Only b is needed (Lasair's `glat`), and b depends only on the angle to the north Galactic
pole, so one spherical-trigonometry line does it exactly.
"""
from __future__ import annotations

import math

# North Galactic pole in ICRS/J2000 (IAU 1958 system, Hipparcos vol. 1, sect. 1.5.3).
NGP_RA_DEG = 192.85948
NGP_DEC_DEG = 27.12825

_SIN_NGP_DEC = math.sin(math.radians(NGP_DEC_DEG))
_COS_NGP_DEC = math.cos(math.radians(NGP_DEC_DEG))


def galactic_latitude(ra_deg: float, dec_deg: float) -> float:
    """Galactic latitude b in degrees for a J2000 position in degrees."""
    dec = math.radians(dec_deg)
    sin_b = math.sin(dec) * _SIN_NGP_DEC + math.cos(dec) * _COS_NGP_DEC * math.cos(
        math.radians(ra_deg - NGP_RA_DEG)
    )
    return math.degrees(math.asin(max(-1.0, min(1.0, sin_b))))
