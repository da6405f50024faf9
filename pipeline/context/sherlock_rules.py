"""Sherlock's decision rules (v3.1.0 with Lasair's radii), simplified to catalogues of four kinds.

Each catalogue source is a search of its own: its kind fixes the synonym and association types
(star: VS, or BS when bright; galaxy: NT / SN; qso: AGN / SN; cv: CV / CV) and its radius. A
galaxy's association radius is its stretched semi-major axis when its size is known, else 50 kpc
at its direct distance or spec-z (capped at 300″, Sherlock's limit for direct distances), else a
fixed angle. Then, per object: the synonym pass (all sources within their synonym radius,
reliability 1); only without a synonym the association pass (reliability 2); matches within 1″ of
each other merge; the lowest score wins. Sherlock's per-catalogue `object_type_accuracy` table has
no counterpart in operator files, so within a merged group the type follows Sherlock's tie order
(AGN > CV > NT > SN > VS > BS) and each value comes from the closest member that has it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .catalogue import CV, GALAXY, QSO, STAR, Catalogue
from .cosmology import kpc_per_arcsec, kpc_per_arcsec_at, luminosity_distance_mpc

TYPE_PRIORITY = ("AGN", "CV", "NT", "SN", "VS", "BS")
SYNONYM_TYPE = {STAR: "VS", GALAXY: "NT", QSO: "AGN", CV: "CV"}
ASSOCIATION_TYPE = {STAR: "VS", GALAXY: "SN", QSO: "SN", CV: "CV"}


@dataclass(frozen=True)
class Rules:
    """Radii in arcsec. Defaults: Lasair's 1.5″ synonym radius, Sherlock v3.1.0's searches and factors."""

    synonym_arcsec: float = 1.5
    bright_star_mag: float = 13.0  # a star brighter than this is BS (Sherlock's Gaia bright-star search)
    bright_star_synonym_arcsec: float = 3.0
    bright_star_arcsec: float = 7.0
    star_arcsec: float = 3.0  # Gaia DR3 star search
    qso_arcsec: float = 3.0  # Milliquas / NED AGN searches
    cv_arcsec: float = 2.5  # Downes / Ritter searches
    galaxy_arcsec: float = 10.0  # a galaxy with neither size nor distance (NED-D phot, 2MASS XSC ...)
    galaxy_kpc: float = 50.0
    physical_max_arcsec: float = 300.0
    sma_stretch: float = 2.5
    merge_arcsec: float = 1.0


def sma_limit(major_arcsec: np.ndarray, stretch: float) -> np.ndarray:
    """Sherlock's galaxy-shape test radius: (major / 2) × stretch, reduced for majors of 10–100′ and above."""
    factor = np.where(major_arcsec >= 6000.0, 0.5, np.where(major_arcsec >= 600.0, 0.7, 1.0))
    return major_arcsec / 2.0 * stretch * factor


def bright_stars(cat: Catalogue, rules: Rules) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return (cat.kind == STAR) & (cat.mag < rules.bright_star_mag)


def synonym_radii(bright: np.ndarray, rules: Rules) -> np.ndarray:
    return np.where(bright, rules.bright_star_synonym_arcsec, rules.synonym_arcsec)


def association_radii(cat: Catalogue, rules: Rules) -> np.ndarray:
    """Per source, the largest separation at which it is still associated with a transient."""
    radius = np.select(
        [bright_stars(cat, rules), cat.kind == STAR, cat.kind == QSO, cat.kind == CV],
        [rules.bright_star_arcsec, rules.star_arcsec, rules.qso_arcsec, rules.cv_arcsec],
        rules.galaxy_arcsec,
    ).astype(np.float64)
    galaxy = cat.kind == GALAXY
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.where(cat.distance > 0, kpc_per_arcsec_at(cat.distance), np.where(cat.z > 0, kpc_per_arcsec(np.nan_to_num(cat.z)), np.nan))
        physical = np.minimum(rules.galaxy_kpc / scale, rules.physical_max_arcsec)
        sma = sma_limit(cat.major_axis.astype(np.float64), rules.sma_stretch)
        radius = np.where(galaxy & (cat.major_axis > 0), sma, np.where(galaxy & (scale > 0), physical, radius))
    return np.maximum(radius, synonym_radii(bright_stars(cat, rules), rules))


@dataclass
class Merged:
    """One merged crossmatch: its members (catalogue indices, closest first) and derived values."""

    members: list[int]
    separations: list[float]
    type: str
    reliability: int
    physical_kpc: float | None = None
    score: float = 0.0

    @property
    def closest(self) -> int:
        return self.members[0]

    @property
    def separation(self) -> float:
        return self.separations[0]


def first_member(cat: Catalogue, merged: Merged, column: str) -> int | None:
    """The closest member with a value in `column`."""
    values = getattr(cat, column)
    return next((i for i in merged.members if not math.isnan(float(values[i]))), None)


def best_magnitude(cat: Catalogue, merged: Merged) -> int | None:
    """The member whose magnitude has the smallest error (the closest one if none has an error)."""
    with_mag = [i for i in merged.members if not math.isnan(float(cat.mag[i]))]
    with_err = [i for i in with_mag if not math.isnan(float(cat.mag_err[i]))]
    return min(with_err, key=lambda i: float(cat.mag_err[i])) if with_err else (with_mag[0] if with_mag else None)


def physical_separation(cat: Catalogue, merged: Merged) -> float | None:
    """Separation × direct-distance scale, else × spec-z scale; never from a photo-z."""
    d, z = first_member(cat, merged, "distance"), first_member(cat, merged, "z")
    if d is not None and cat.distance[d] > 0:
        return merged.separation * float(kpc_per_arcsec_at(cat.distance[d]))
    if z is not None and cat.z[z] > 0:
        return merged.separation * float(kpc_per_arcsec(cat.z[z]))
    return None


def best_distance(cat: Catalogue, merged: Merged) -> tuple[float, str, int] | None:
    """(Mpc, flag, member): direct distance (dd), else spec-z (sz), else photo-z (pz) luminosity distance."""
    for column, flag in (("distance", "dd"), ("z", "sz"), ("photoz", "pz")):
        i = first_member(cat, merged, column)
        if i is not None and getattr(cat, column)[i] > 0:
            value = float(cat.distance[i]) if flag == "dd" else float(luminosity_distance_mpc(getattr(cat, column)[i]))
            return value, flag, i
    return None


def score(cat: Catalogue, merged: Merged) -> float:
    """Sherlock's rank score (lower wins), step 5 of the reference sheet."""
    sep, kpc, kind = merged.separation, merged.physical_kpc, merged.type
    has_z = first_member(cat, merged, "z") is not None
    has_photoz = first_member(cat, merged, "photoz") is not None
    if kpc is not None and (has_z or not has_photoz):
        extra = 2 - (50 - kpc) + min(sep / 60, 100)
    elif kind in ("SN", "NT", "AGN"):
        extra = 2 + min(sep / 60, 100)
    elif kind in ("CV", "VS"):
        extra = 2 + sep
    elif kind == "BS":
        extra = sep
    else:
        extra = 10 + min(sep / 60, 100)
    return 1000 * merged.reliability + extra


def select_matches(seps: np.ndarray, objects: np.ndarray, synonym: np.ndarray, association: np.ndarray, n_objects: int) -> tuple[np.ndarray, np.ndarray]:
    """For (object, source) candidate pairs at `seps` with the sources' radii: which pairs match and how reliably.

    An object with any synonym keeps only its synonyms (reliability 1); the others keep their
    associations (reliability 2). Vectorised over a micro-batch."""
    is_synonym = seps <= synonym
    has_synonym = np.zeros(n_objects, dtype=bool)
    has_synonym[objects[is_synonym]] = True
    with_synonym = has_synonym[objects]
    keep = np.where(with_synonym, is_synonym, seps <= association)
    return keep, np.where(with_synonym, 1, 2)


def crossmatch(cat: Catalogue, matches: list[tuple[float, int]], reliability: int, bright: np.ndarray, rules: Rules) -> list[Merged]:
    """The ranked merged matches of one object from its (separation, source) matches, best first."""
    types = SYNONYM_TYPE if reliability == 1 else ASSOCIATION_TYPE
    merge_chord = 2.0 * math.sin(math.radians(rules.merge_arcsec / 3600.0) / 2.0)
    groups: list[Merged] = []
    centres: list[list[float]] = []
    for sep, i in sorted(matches):
        kind = "BS" if bright[i] else types[int(cat.kind[i])]
        xyz = cat.xyz[i].tolist()
        k = next((k for k, c in enumerate(centres) if math.dist(c, xyz) <= merge_chord), None)
        if k is None:
            groups.append(Merged([i], [sep], kind, reliability))
            centres.append(xyz)
            continue
        group = groups[k]
        group.members.append(i)
        group.separations.append(sep)
        if TYPE_PRIORITY.index(kind) < TYPE_PRIORITY.index(group.type):
            group.type = kind
    for group in groups:
        group.physical_kpc = physical_separation(cat, group)
        group.score = score(cat, group)
    return sorted(groups, key=lambda g: g.score)
