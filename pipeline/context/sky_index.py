"""Positions on the sky as unit vectors, indexed by a k-d tree, for cone searches in batches.

A chord between unit vectors grows monotonically with the angle, so a Euclidean k-d tree
(scipy's cKDTree) answers "within θ" exactly with radius 2·sin(θ/2), with no RA wrap-around
or pole special cases. Shared by the Sherlock-style classifier and the TNS cross-match.
"""
from __future__ import annotations

import math

import numpy as np
from scipy.spatial import cKDTree

ARCSEC_PER_RAD = 180.0 / math.pi * 3600.0
_CHORD_SLACK = 1e-9  # the tree must not miss a pair exactly on a radius: callers test the exact separation after


def unit_vectors(ra_deg: np.ndarray, dec_deg: np.ndarray) -> np.ndarray:
    """(n, 3) float64 unit vectors of J2000 positions in degrees."""
    ra = np.radians(np.asarray(ra_deg, dtype=np.float64))
    dec = np.radians(np.asarray(dec_deg, dtype=np.float64))
    cos_dec = np.cos(dec)
    return np.ascontiguousarray(np.stack([cos_dec * np.cos(ra), cos_dec * np.sin(ra), np.sin(dec)], axis=-1))


def chord(radius_arcsec: float) -> float:
    """The chord length subtending `radius_arcsec`, the k-d tree's search radius."""
    return 2.0 * math.sin(min(radius_arcsec, 648000.0) / ARCSEC_PER_RAD / 2.0)


def radec(xyz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """RA in [0, 360) and Dec in degrees of (n, 3) unit vectors."""
    ra = np.degrees(np.arctan2(xyz[..., 1], xyz[..., 0])) % 360.0
    dec = np.degrees(np.arcsin(np.clip(xyz[..., 2], -1.0, 1.0)))
    return ra, dec


def separation_arcsec(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Angles between unit vectors (broadcast), from the chord: exact and well conditioned below 90°."""
    d = np.asarray(b) - np.asarray(a)
    return 2.0 * np.arcsin(np.minimum(np.sqrt(np.sum(d * d, axis=-1)) / 2.0, 1.0)) * ARCSEC_PER_RAD


def offsets_arcsec(ra0: float, dec0: float, ra: float, dec: float) -> tuple[float, float]:
    """North and east offsets (arcsec) of (ra, dec) from (ra0, dec0), on the tangent plane at (ra0, dec0)."""
    a0, d0, a, d = map(math.radians, (ra0, dec0, ra, dec))
    cos_c = math.sin(d0) * math.sin(d) + math.cos(d0) * math.cos(d) * math.cos(a - a0)
    east = math.cos(d) * math.sin(a - a0) / cos_c
    north = (math.cos(d0) * math.sin(d) - math.sin(d0) * math.cos(d) * math.cos(a - a0)) / cos_c
    return north * ARCSEC_PER_RAD, east * ARCSEC_PER_RAD


class SkyIndex:
    """A k-d tree over fixed positions, searched in batches of cones of one radius."""

    def __init__(self, xyz: np.ndarray):
        self.xyz = np.ascontiguousarray(xyz, dtype=np.float64).reshape(-1, 3)
        self.tree = cKDTree(self.xyz, copy_data=False, balanced_tree=False, compact_nodes=False) if len(self.xyz) else None

    def __len__(self) -> int:
        return len(self.xyz)

    def within(self, points: np.ndarray, radius_arcsec: float) -> list[list[int]]:
        """For each of the (m, 3) unit vectors `points`, the indices of positions within the radius (unordered)."""
        if self.tree is None or len(points) == 0:
            return [[] for _ in range(len(points))]
        return list(self.tree.query_ball_point(points, chord(radius_arcsec) * (1 + _CHORD_SLACK), return_sorted=False))
