"""Distances from redshift in Sherlock's flat ΛCDM (H0 = 70 km/s/Mpc, Ωm = 0.3, ΩΛ = 0.7).

Comoving distance is tabulated once on a fine grid and interpolated, so whole catalogue
columns convert in one vectorised call (the error is far below catalogue redshift errors).
"""
from __future__ import annotations

import numpy as np

from .sky_index import ARCSEC_PER_RAD

H0 = 70.0
OMEGA_M = 0.3
OMEGA_L = 0.7
HUBBLE_DISTANCE_MPC = 299792.458 / H0

_Z = np.linspace(0.0, 12.0, 24001)
_E_INV = 1.0 / np.sqrt(OMEGA_M * (1.0 + _Z) ** 3 + OMEGA_L)
_COMOVING = HUBBLE_DISTANCE_MPC * np.concatenate([[0.0], np.cumsum((_E_INV[1:] + _E_INV[:-1]) / 2.0 * np.diff(_Z))])


def comoving_mpc(z: np.ndarray | float) -> np.ndarray:
    return np.interp(np.asarray(z, dtype=np.float64), _Z, _COMOVING)


def luminosity_distance_mpc(z: np.ndarray | float) -> np.ndarray:
    return comoving_mpc(z) * (1.0 + np.asarray(z, dtype=np.float64))


def kpc_per_arcsec(z: np.ndarray | float) -> np.ndarray:
    """Angular-diameter scale at redshift z."""
    return comoving_mpc(z) / (1.0 + np.asarray(z, dtype=np.float64)) * 1000.0 / ARCSEC_PER_RAD


def kpc_per_arcsec_at(distance_mpc: np.ndarray | float) -> np.ndarray:
    """Scale for a redshift-independent distance, as Sherlock computes it: d / 206.265."""
    return np.asarray(distance_mpc, dtype=np.float64) / 206.265
