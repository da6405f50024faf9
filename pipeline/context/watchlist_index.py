"""Matching a micro-batch of alert positions against every active watchlist: `watchlist_hits` rows.

Sources are unit vectors in k-d trees (scipy's cKDTree): the chord between unit vectors grows
with the angle, so "within θ" is "chord ≤ 2·sin(θ/2)", with no RA wrap-around or pole cases.
Sources are grouped in bands of radius (each a factor 4 wide) with one tree per band, queried at
the band's largest radius, so a few 1800" cones do not make every 1" cone a candidate. Each
candidate pair is then kept only if its great-circle distance is at most that source's radius.

Distances are great-circle (atan2 of cross and dot products, accurate at any separation), where
Lasair's real-time path uses a flat-sky one (ΔRA·cos Dec, ΔDec): the two agree closely for small
cones away from the poles, but the flat-sky distance is wrong across RA 0/360 and near a pole,
so `arcsec` and the hits there can differ from Lasair's.

A cone id is `wl_id * CONE_ID_STRIDE + index`, the index being the source's 0-based line among
the watchlist's sources: stable while the watchlist's sources do not change (an upload of new
sources renumbers them), and it names its watchlist (`cone_id // CONE_ID_STRIDE`).
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
from scipy.spatial import cKDTree

from .sky_index import chord, separation_arcsec, unit_vectors
from .watchlist_limits import MAX_SOURCES
from .watchlist_record import Watchlist

CONE_ID_STRIDE = 1_000_000  # > MAX_SOURCES, so cone ids of two watchlists never meet
_BAND_RATIO = 4.0
_CHORD_SLACK = 1e-9  # unit vectors are unit to ~1e-16: the tree must not miss a pair that is exactly on a radius

assert CONE_ID_STRIDE > MAX_SOURCES


class _Band:
    """Sources whose radii lie within a factor of `_BAND_RATIO`, in one tree."""

    def __init__(self, xyz: np.ndarray, rows: np.ndarray, max_radius: float):
        self.rows = rows  # indices into the index's per-source arrays
        self.tree = cKDTree(xyz, balanced_tree=False, compact_nodes=False)  # 2x faster to build, as fast to query
        self.search = chord(max_radius) * (1 + _CHORD_SLACK)

    def candidates(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(point index, source row) of every source within the band's largest radius of each point."""
        found = self.tree.query_ball_point(points, self.search, return_sorted=False)
        counts = np.fromiter(map(len, found), dtype=np.intp, count=len(found))
        if not counts.any():
            return np.empty(0, np.intp), np.empty(0, np.intp)
        flat = np.fromiter((i for hits in found for i in hits), dtype=np.intp, count=int(counts.sum()))
        return np.repeat(np.arange(len(points)), counts), self.rows[flat]


class WatchlistIndex:
    """Every source of the active watchlists given, ready to match batches of positions.

    Built whole from a book's watchlists (`WatchlistIndex(book.items.values())`) when the book's
    generation moves; an index is never changed, so a worker swaps the new one in at a batch
    boundary.
    """

    def __init__(self, watchlists: Iterable[Watchlist]):
        active = sorted((w for w in watchlists if w.active), key=lambda w: w.id)
        self.watchlists = {w.id: w for w in active}
        sizes = [len(w.sources) for w in active]
        self.xyz = unit_vectors(_join([w.sources.ra for w in active]), _join([w.sources.dec for w in active]))
        self.radius = _join([w.radii() for w in active])
        self.wl_id = np.repeat(np.array([w.id for w in active], dtype=np.int64), sizes)
        self.index = _join([np.arange(n, dtype=np.int64) for n in sizes]).astype(np.int64)
        band_of = np.floor(np.log(self.radius) / math.log(_BAND_RATIO)).astype(np.int64)
        self.bands = []
        for band in np.unique(band_of):
            rows = np.flatnonzero(band_of == band)
            self.bands.append(_Band(self.xyz[rows], rows, float(self.radius[rows].max())))

    def __len__(self) -> int:
        return len(self.radius)

    @property
    def nbytes(self) -> int:
        """The per-source arrays this index holds beside the watchlists (the trees' own memory is not counted)."""
        return sum(a.nbytes for a in (self.xyz, self.radius, self.wl_id, self.index)) + sum(b.rows.nbytes for b in self.bands)

    def pairs(self, ra: np.ndarray, dec: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(position index, source row, arcsec) of every position inside a source's cone, in position order."""
        ra, dec = np.asarray(ra, dtype=np.float64), np.asarray(dec, dtype=np.float64)
        finite = np.flatnonzero(np.isfinite(ra) & np.isfinite(dec))
        points = unit_vectors(ra[finite], dec[finite])
        found = [band.candidates(points) for band in self.bands] if len(points) else []
        at = np.concatenate([f[0] for f in found] or [np.empty(0, np.intp)])
        rows = np.concatenate([f[1] for f in found] or [np.empty(0, np.intp)])
        arcsec = separation_arcsec(points[at], self.xyz[rows])
        keep = arcsec <= self.radius[rows]
        at, rows, arcsec = finite[at[keep]], rows[keep], arcsec[keep]
        order = np.lexsort((rows, at))
        return at[order], rows[order], arcsec[order]

    def match(self, object_ids: np.ndarray, ra: np.ndarray, dec: np.ndarray) -> list[dict[str, Any]]:
        """`watchlist_hits` rows (diaObjectId, wl_id, cone_id, arcsec, name) for objects at (ra, dec) in degrees."""
        at, rows, arcsec = self.pairs(ra, dec)
        hits = []
        for i, row, distance in zip(at.tolist(), rows.tolist(), arcsec.tolist()):
            wl_id, index = int(self.wl_id[row]), int(self.index[row])
            hits.append({"diaObjectId": int(object_ids[i]), "wl_id": wl_id, "cone_id": wl_id * CONE_ID_STRIDE + index,
                         "arcsec": distance, "name": self.watchlists[wl_id].sources.names[index]})
        return hits


def _join(arrays: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(arrays) if arrays else np.empty(0, dtype=np.float64)
