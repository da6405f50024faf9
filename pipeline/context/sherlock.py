"""The built-in contextual classifier: one `sherlock_classifications` row per object, as Lasair stores it.

Sources are grouped into tiers by association radius, each tier with its own k-d tree searched at
the tier's largest radius, so the many small sources (stars, faint galaxies) are searched within
a minute of arc while the few big galaxies are still found out to their stretched semi-major axis.
Candidates of a whole micro-batch are then tested in one vectorised pass; only matched objects
take the per-object merge and ranking in Python.
Objects with fewer than 2 diaSources get no row, as Lasair's Sherlock skips singletons
(`ignore_singletons`). Rows are cached per (diaObjectId, catalogue version): an object is
classified once, and a new catalogue re-classifies it.
"""
from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from .catalogue import KIND_NAMES, Catalogue
from .sherlock_rules import (
    Merged,
    Rules,
    association_radii,
    best_distance,
    best_magnitude,
    bright_stars,
    crossmatch,
    first_member,
    select_matches,
    synonym_radii,
)
from .sky_index import SkyIndex, offsets_arcsec, separation_arcsec, unit_vectors
from .tables import SHERLOCK_CLASSIFICATIONS

ANNOTATOR = "alertflow built-in contextual classifier (Sherlock v3.1.0 rules)"
NO_DESCRIPTION = "no description"
ORPHAN_DESCRIPTION = "The transient is not obviously associated with any catalogued galaxy nor is it coincident with a known stellar source."
TIER_EDGES = (60.0, 900.0)  # arcsec: even at 60″ a 10-million-source sky gives ~0.2 candidates per object
COLUMNS = SHERLOCK_CLASSIFICATIONS.column_names


class ObjectPosition(NamedTuple):
    diaObjectId: int
    ra: float
    dec: float
    nDiaSources: int


def object_position(dia_object: dict[str, Any] | None) -> ObjectPosition | None:
    """Sherlock's input from an alert's diaObject (or its `object_summary`): the mean position and the number of diaSources;
    None without a diaObject or a finite position (such an object gets no row)."""
    if not dia_object or dia_object.get("diaObjectId") is None:
        return None
    ra, dec = dia_object.get("ra"), dia_object.get("dec")
    if ra is None or dec is None or not (math.isfinite(ra) and math.isfinite(dec)):
        return None
    return ObjectPosition(int(dia_object["diaObjectId"]), float(ra), float(dec), int(dia_object.get("nDiaSources") or 0))


class SherlockCache:
    """Bounded LRU of rows by (diaObjectId, catalogue version); shared across catalogue reloads."""

    def __init__(self, max_objects: int = 200_000):
        self.max_objects = max_objects
        self.rows: OrderedDict[tuple[int, str], dict[str, Any]] = OrderedDict()
        self.hits = self.misses = 0

    def get(self, key: tuple[int, str]) -> dict[str, Any] | None:
        row = self.rows.get(key)
        if row is None:
            self.misses += 1
            return None
        self.rows.move_to_end(key)
        self.hits += 1
        return row

    def put(self, key: tuple[int, str], row: dict[str, Any]) -> None:
        self.rows[key] = row
        self.rows.move_to_end(key)
        while len(self.rows) > self.max_objects:
            self.rows.popitem(last=False)


class ContextClassifier:
    """Classifies objects against one catalogue; build once per catalogue (the index is built here)."""

    def __init__(self, catalogue: Catalogue, rules: Rules = Rules(), cache: SherlockCache | None = None):
        self.rules = rules
        self.cache = cache if cache is not None else SherlockCache()
        association = association_radii(catalogue, rules)
        tier = np.searchsorted(TIER_EDGES, association)
        order = np.argsort(tier, kind="stable")
        if not np.array_equal(order, np.arange(len(order))):
            catalogue, association, tier = catalogue.take(order), association[order], tier[order]
        self.catalogue = catalogue
        self.association = association.astype(np.float32)  # 4 bytes a source: the tiers are built, precision no longer matters
        self.bright = bright_stars(catalogue, rules)
        bounds = np.searchsorted(tier, np.arange(len(TIER_EDGES) + 2))
        self.tiers = [(int(lo), SkyIndex(catalogue.xyz[lo:hi]), float(association[lo:hi].max()))
                      for lo, hi in zip(bounds[:-1], bounds[1:]) if hi > lo]

    @property
    def version(self) -> str:
        return self.catalogue.version

    def classify(self, objects: Sequence[ObjectPosition]) -> dict[int, dict[str, Any] | None]:
        """Rows by diaObjectId for a micro-batch; None for objects with fewer than 2 diaSources.

        Rows are shared with the cache: read-only."""
        result: dict[int, dict[str, Any] | None] = {}
        todo: dict[int, ObjectPosition] = {}
        for obj in objects:
            if obj.nDiaSources < 2:
                result[obj.diaObjectId] = None
            elif obj.diaObjectId not in result and obj.diaObjectId not in todo:
                row = self.cache.get((obj.diaObjectId, self.version))
                if row is None:
                    todo[obj.diaObjectId] = obj
                else:
                    result[obj.diaObjectId] = row
        if todo:
            pending = list(todo.values())
            for obj, ranked in zip(pending, self._crossmatch(pending)):
                row = self.row(obj, ranked[0] if ranked else None)
                self.cache.put((obj.diaObjectId, self.version), row)
                result[obj.diaObjectId] = row
        return result

    def _crossmatch(self, pending: list[ObjectPosition]) -> list[list[Merged]]:
        """Ranked merged matches per object: candidate pairs from every tier, tested in one vectorised pass."""
        points = unit_vectors(np.array([o.ra for o in pending]), np.array([o.dec for o in pending]))
        objects: list[int] = []
        sources: list[int] = []
        for lo, index, radius in self.tiers:
            for k, found in enumerate(index.within(points, radius)):
                if found:
                    objects.extend([k] * len(found))
                    sources.extend(lo + j for j in found)
        per_object: list[list[tuple[float, int]]] = [[] for _ in pending]
        reliability = [0] * len(pending)
        if objects:
            obj, src = np.array(objects), np.array(sources)
            seps = separation_arcsec(points[obj], self.catalogue.xyz[src])
            keep, rel = select_matches(seps, obj, synonym_radii(self.bright[src], self.rules), self.association[src], len(pending))
            for k, sep, i, r in zip(obj[keep].tolist(), seps[keep].tolist(), src[keep].tolist(), rel[keep].tolist()):
                per_object[k].append((sep, i))
                reliability[k] = r
        return [crossmatch(self.catalogue, m, r, self.bright, self.rules) if m else [] for m, r in zip(per_object, reliability)]

    def row(self, obj: ObjectPosition, best: Merged | None) -> dict[str, Any]:
        """The sherlock_classifications row of the rank-1 merged match (ORPHAN without one), zero/empty as NULL."""
        row: dict[str, Any] = dict.fromkeys(COLUMNS)
        row.update(diaObjectId=obj.diaObjectId, annotator=ANNOTATOR)
        if best is None:
            row.update(classification="ORPHAN", description=ORPHAN_DESCRIPTION)
            return row
        cat, i = self.catalogue, best.closest
        ra, dec = cat.position(i)
        north, east = offsets_arcsec(ra, dec, obj.ra, obj.dec)
        tables = list(dict.fromkeys(cat.tables[cat.table[m]] for m in best.members))
        row.update(
            classification=best.type, association_type=best.type, catalogue_table_name="/".join(tables),
            catalogue_object_id=cat.object_id(i), catalogue_object_type=KIND_NAMES[cat.kind[i]],
            raDeg=ra, decDeg=dec, separationArcsec=best.separation, northSeparationArcsec=north, eastSeparationArcsec=east,
            physical_separation_kpc=best.physical_kpc, classificationReliability=best.reliability,
        )
        for column, member_column in (("direct_distance", "distance"), ("z", "z"), ("major_axis_arcsec", "major_axis")):
            m = first_member(cat, best, member_column)
            row[column] = cat.value(member_column, m) if m is not None else None
        m = first_member(cat, best, "photoz")
        if m is not None:
            row.update(photoZ=cat.value("photoz", m), photoZErr=cat.value("photoz_err", m))
        m = best_magnitude(cat, best)
        if m is not None:
            band = cat.mag_filter[m] if cat.mag_filter is not None else None
            row.update(Mag=cat.value("mag", m), MagErr=cat.value("mag_err", m),
                       MagFilter=band.replace("_", "").replace("Mag", "") if band else None)
        distance = best_distance(cat, best)
        if distance is not None:
            row.update(best_distance=distance[0], distance=distance[0], best_distance_flag=distance[1],
                       best_distance_source=cat.tables[cat.table[distance[2]]])
        row["description"] = describe(row, best)
        return as_stored(row)


def describe(row: dict[str, Any], best: Merged) -> str:
    """A sentence in the manner of Sherlock's second classification element."""
    relation = "synonymous with" if best.reliability == 1 else "possibly associated with"
    mag = f"a {row['Mag']:.2f} mag " if row["Mag"] is not None else "a "
    text = f"The transient is {relation} {row['catalogue_object_id']}; {mag}{row['catalogue_object_type']} found in the {row['catalogue_table_name']} catalogue."
    if row["best_distance"] is not None:
        text += f" It is {row['best_distance']:.1f} Mpc away"
        text += f" and the transient lies {row['physical_separation_kpc']:.2f} kpc from its centre." if row["physical_separation_kpc"] else "."
    return text


def as_stored(row: dict[str, Any]) -> dict[str, Any]:
    """Lasair stores zero or empty values as NULL."""
    return {k: (None if v == 0 or v == "" else v) if k != "diaObjectId" else v for k, v in row.items()}
