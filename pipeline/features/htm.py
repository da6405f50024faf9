"""Hierarchical Triangular Mesh (HTM) trixel ids, the SDSS/Szalay numbering Lasair stores.

Lasair keeps `htm16` so that cone searches become integer range scans. The numbering is the
standard one (Kunszt, Szalay & Thakar 2001; Szalay et al. 2007, arXiv:cs/0701164): the
octahedron's faces S0..S3, N0..N3 are ids 8..15 (depth 0) and each further depth appends
two bits naming the child 0..3, so a depth-16 id has 4 + 2*16 = 36 bits.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

Vector = tuple[float, float, float]

_X: Vector = (1.0, 0.0, 0.0)
_Y: Vector = (0.0, 1.0, 0.0)
_Z: Vector = (0.0, 0.0, 1.0)
_MX: Vector = (-1.0, 0.0, 0.0)
_MY: Vector = (0.0, -1.0, 0.0)
_MZ: Vector = (0.0, 0.0, -1.0)

# (id, corners counter-clockwise seen from outside), as in the SDSS HTM definition.
_ROOTS: dict[str, tuple[int, Vector, Vector, Vector]] = {
    "S0": (8, _X, _MZ, _Y),
    "S1": (9, _Y, _MZ, _MX),
    "S2": (10, _MX, _MZ, _MY),
    "S3": (11, _MY, _MZ, _X),
    "N0": (12, _X, _Z, _MY),
    "N1": (13, _MY, _Z, _MX),
    "N2": (14, _MX, _Z, _Y),
    "N3": (15, _Y, _Z, _X),
}


def unit_vector(ra_deg: float, dec_deg: float) -> Vector:
    ra, dec = math.radians(ra_deg), math.radians(dec_deg)
    cos_dec = math.cos(dec)
    return (cos_dec * math.cos(ra), cos_dec * math.sin(ra), math.sin(dec))


def _root(p: Vector) -> str:
    """The octant face holding p; ties on the face edges go the way SDSS's code sends them."""
    x, y, z = p
    hemisphere = "N" if z >= 0.0 else "S"
    if x > 0.0 and y >= 0.0:
        quadrant = 3 if hemisphere == "N" else 0
    elif x <= 0.0 and y > 0.0:
        quadrant = 2 if hemisphere == "N" else 1
    elif x < 0.0 and y <= 0.0:
        quadrant = 1 if hemisphere == "N" else 2
    elif x >= 0.0 and y < 0.0:
        quadrant = 0 if hemisphere == "N" else 3
    else:  # x == y == 0: a pole
        quadrant = 3 if hemisphere == "N" else 0
    return f"{hemisphere}{quadrant}"


def _left_of(a: Vector, b: Vector, p: Vector) -> bool:
    """p lies on the left of the great circle a->b, i.e. (a x b) . p >= 0."""
    return (
        (a[1] * b[2] - a[2] * b[1]) * p[0]
        + (a[2] * b[0] - a[0] * b[2]) * p[1]
        + (a[0] * b[1] - a[1] * b[0]) * p[2]
    ) >= 0.0


def htm_id(ra_deg: float, dec_deg: float, depth: int = 16) -> int:
    """The id of the depth-`depth` trixel containing (ra, dec), J2000 degrees."""
    p = unit_vector(ra_deg, dec_deg)
    ident, v0, v1, v2 = _ROOTS[_root(p)]
    for _ in range(depth):
        w0, w1, w2 = _midpoint(v1, v2), _midpoint(v0, v2), _midpoint(v0, v1)
        ident <<= 2
        if _left_of(w2, w1, p):
            v1, v2 = w2, w1
        elif _left_of(w0, w2, p):
            ident |= 1
            v0, v1, v2 = v1, w0, w2
        elif _left_of(w1, w0, p):
            ident |= 2
            v0, v1, v2 = v2, w1, w0
        else:
            ident |= 3
            v0, v1, v2 = w0, w1, w2
    return ident


def _midpoint(a: Vector, b: Vector) -> Vector:
    """Normalised, so that the next level's midpoints bisect its edges on the sphere."""
    x, y, z = a[0] + b[0], a[1] + b[1], a[2] + b[2]
    n = math.sqrt(x * x + y * y + z * z)
    return (x / n, y / n, z / n)



# After choosing child c, the new corners (v0, v1, v2) among (v0, v1, v2, w0, w1, w2), as htm_id assigns them.
_CHILD_CORNERS = np.array([(0, 5, 4), (1, 3, 5), (2, 4, 3), (3, 4, 5)])


def htm_ids(ra_deg: Sequence[float], dec_deg: Sequence[float], depth: int = 16) -> np.ndarray:
    """`htm_id` of many positions (int64), equal to it bit for bit.

    Unit vectors and faces are computed per position in plain floats (numpy's SIMD sin and cos are
    not math's); the descent, only + - * / and sqrt (exactly rounded in both), in numpy over all
    positions at once, every operation in `htm_id`'s order. Corners are a (3 corners, 3 axes, n) array.
    """
    points = [unit_vector(ra, dec) for ra, dec in zip(ra_deg, dec_deg)]
    roots = [_ROOTS[_root(p)] for p in points]
    n = len(points)
    p = np.array(points, dtype=np.float64).reshape(n, 3).T
    ident = np.array([root[0] for root in roots], dtype=np.int64)
    corners = np.array([root[1:] for root in roots], dtype=np.float64).reshape(n, 3, 3).transpose(1, 2, 0)
    offsets = (np.arange(3)[:, None] * n + np.arange(n))[None]  # of (axis, position) in one (3, n) vector block
    for _ in range(depth):
        s = corners[[1, 0, 0]] + corners[[2, 2, 1]]  # w0 = mid(v1, v2), w1 = mid(v0, v2), w2 = mid(v0, v1)
        w = s / np.sqrt(s[:, 0] * s[:, 0] + s[:, 1] * s[:, 1] + s[:, 2] * s[:, 2])[:, None]
        # _left_of(w2, w1, p), (w0, w2, p), (w1, w0, p) at once: indexed by axis first, as it indexes them
        left = _left_of(w[[2, 0, 1]].swapaxes(0, 1), w[[1, 2, 0]].swapaxes(0, 1), p)
        child = np.argmax(np.vstack((left, np.ones(n, dtype=bool))), axis=0)  # the first test that holds
        ident = (ident << 2) + child
        corners = np.concatenate((corners, w)).reshape(-1).take(_CHILD_CORNERS[child].T[:, None, :] * (3 * n) + offsets)
    return ident
