"""The built-in classifier's rules, case by case, against a hand-made catalogue.

Each case sits alone at its own RA on the equator; the transient is placed `north` arcsec north
of the case's sources, so separations are exact.
"""
from __future__ import annotations

import csv
import itertools
from pathlib import Path

import orjson
import pytest

from pipeline.context.catalogue import load_catalogues
from pipeline.context.sherlock import ContextClassifier, ObjectPosition, SherlockCache, object_position
from pipeline.context.sherlock_external import ExternalRows, parse_row

HEADER = ["ra", "dec", "kind", "name", "z", "photoz", "photoz_err", "distance_mpc", "mag", "mag_err", "mag_filter", "major_axis_arcsec"]


def source(ra: float, kind: str, name: str, dec: float = 0.0, **values: float | str) -> dict[str, object]:
    return {"ra": ra, "dec": dec, "kind": kind, "name": name, **values}


STARS = [
    source(10, "star", "star-faint", mag=18.0, mag_err=0.05, mag_filter="r"),
    source(20, "star", "star-bright", mag=9.5, mag_filter="G"),
    source(30, "star", "star-near-galaxy", mag=19.0),
    source(80, "star", "star-2.5", mag=19.0),
]
GALAXIES = [
    source(40, "galaxy", "gal-nucleus", z=0.02),
    source(50, "galaxy", "gal-sized", major_axis_arcsec=20.0, mag=15.2, mag_filter="_r"),
    source(60, "galaxy", "gal 100 Mpc", distance_mpc=100.0),
    source(70, "galaxy", "gal-specz", z=0.05, photoz=0.06, photoz_err=0.01),
    source(80.0 + 8 / 3600, "galaxy", "gal-plain"),
    source(90, "galaxy", "gal-plain-alone"),
    source(30.0 + 5 / 3600, "galaxy", "gal-near-star", distance_mpc=40.0),
    source(100, "galaxy", "gal-merge", photoz=0.1, mag=17.0, mag_err=0.3, mag_filter="g"),
    source(140, "galaxy", "gal-huge", major_axis_arcsec=3600.0),
]
QSOS = [
    source(110, "qso", "qso-1"),
    source(120, "agn", "agn-2"),
    source(100.0 + 0.5 / 3600, "qso", "qso-merge", mag=17.5, mag_err=0.1, mag_filter="i"),
    source(130, "cv", "cv-1"),
]


def write(path: Path, rows: list[dict[str, object]]) -> Path:
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, HEADER)
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    d = tmp_path_factory.mktemp("catalogues")
    return [write(d / "stars.csv", STARS), write(d / "galaxies.csv", GALAXIES), write(d / "qsos.csv", QSOS)]


@pytest.fixture(scope="module")
def classifier(files: list[Path]) -> ContextClassifier:
    return ContextClassifier(load_catalogues(files))


_IDS = itertools.count(1000)


def classify(clf: ContextClassifier, ra: float, north: float, object_id: int | None = None, n: int = 3) -> dict | None:
    """The row of one object `north` arcsec north of (ra, 0); a fresh id unless given (rows are cached by id)."""
    object_id = next(_IDS) if object_id is None else object_id
    return clf.classify([ObjectPosition(object_id, ra, north / 3600, n)])[object_id]


@pytest.mark.parametrize("ra, north, classification, reliability, name", [
    (10, 1.0, "VS", 1, "star-faint"),            # star synonym
    (10, 2.5, "VS", 2, "star-faint"),            # star association (3″ search)
    (20, 2.0, "BS", 1, "star-bright"),           # bright star: 3″ synonym radius
    (20, 6.0, "BS", 2, "star-bright"),           # bright star association (7″)
    (40, 1.2, "NT", 1, "gal-nucleus"),           # galaxy nucleus within 1.5″
    (50, 20.0, "SN", 2, "gal-sized"),            # inside 2.5 × the semi-major axis (25″)
    (60, 60.0, "SN", 2, "gal100Mpc"),            # 29 kpc at 100 Mpc
    (70, 30.0, "SN", 2, "gal-specz"),            # 30″ at z = 0.05 is < 50 kpc
    (90, 9.0, "SN", 2, "gal-plain-alone"),       # no size nor distance: 10″
    (110, 1.0, "AGN", 1, "qso-1"),
    (110, 2.5, "SN", 2, "qso-1"),                # Sherlock: a QSO association is SN
    (120, 0.5, "AGN", 1, "agn-2"),
    (130, 2.0, "CV", 2, "cv-1"),
])
def test_each_rule(classifier: ContextClassifier, ra: float, north: float, classification: str, reliability: int, name: str) -> None:
    row = classify(classifier, ra, north)
    assert (row["classification"], row["association_type"], row["classificationReliability"], row["catalogue_object_id"]) == (
        classification, classification, reliability, name)
    assert row["separationArcsec"] == pytest.approx(north, rel=1e-6)
    assert row["northSeparationArcsec"] == pytest.approx(north, rel=1e-6)
    assert row["eastSeparationArcsec"] is None  # zero is stored as NULL


@pytest.mark.parametrize("ra, north", [(50, 26.0), (60, 110.0), (90, 11.0), (130, 3.0), (10, 3.5), (200, 0.0)])
def test_beyond_every_radius_is_orphan(classifier: ContextClassifier, ra: float, north: float) -> None:
    row = classify(classifier, ra, north)
    assert row["classification"] == "ORPHAN"
    assert row["association_type"] is row["catalogue_object_id"] is row["separationArcsec"] is row["classificationReliability"] is None


def test_big_galaxy_found_out_to_its_reduced_stretch(classifier: ContextClassifier) -> None:
    """Major axis 60′ (10–100′): limit 1800″ × 2.5 × 0.7 = 3150″, searched in its own wide tier."""
    assert classify(classifier, 140, 3100.0)["catalogue_object_id"] == "gal-huge"
    assert classify(classifier, 140, 3200.0)["classification"] == "ORPHAN"


def test_values_of_a_galaxy_with_a_spec_z(classifier: ContextClassifier) -> None:
    row = classify(classifier, 70, 30.0)
    assert row["catalogue_table_name"] == "galaxies" and row["catalogue_object_type"] == "galaxy"
    assert row["z"] == pytest.approx(0.05) and row["photoZ"] == pytest.approx(0.06) and row["photoZErr"] == pytest.approx(0.01)
    assert row["best_distance_flag"] == "sz" and row["best_distance_source"] == "galaxies"
    assert row["best_distance"] == pytest.approx(222.29, rel=1e-4) == row["distance"]  # D_L(0.05), H0 = 70, Ωm = 0.3
    assert row["physical_separation_kpc"] == pytest.approx(30 * 0.97749, rel=1e-4)  # kpc/″ at z = 0.05
    assert row["direct_distance"] is None and row["raDeg"] == pytest.approx(70)
    assert row["decDeg"] is None  # Lasair stores every zero as NULL, a declination of 0 included


def test_values_of_a_galaxy_with_a_direct_distance(classifier: ContextClassifier) -> None:
    row = classify(classifier, 60, 60.0)
    assert row["direct_distance"] == row["best_distance"] == 100.0 and row["best_distance_flag"] == "dd"
    assert row["physical_separation_kpc"] == pytest.approx(60 * 100 / 206.265, rel=1e-6)
    assert "100.0 Mpc" in row["description"]


def test_magnitude_band_is_cleaned(classifier: ContextClassifier) -> None:
    row = classify(classifier, 50, 20.0)
    assert (row["Mag"], row["MagFilter"], row["MagErr"], row["major_axis_arcsec"]) == (pytest.approx(15.2), "r", None, 20.0)


def test_synonym_pass_comes_before_association(classifier: ContextClassifier) -> None:
    """A star at 1″ is a synonym; the galaxy 4″ away (3.9 kpc at 40 Mpc) would score lower as an association."""
    row = classify(classifier, 30, 1.0)
    assert row["classification"] == "VS" and row["catalogue_object_id"] == "star-near-galaxy"


def test_score_orders_associations(classifier: ContextClassifier) -> None:
    """Star at 2.5″ (VS: 2 + 2.5) against a galaxy at 8.4″ (SN: 2 + 8.4/60): the galaxy wins."""
    row = classify(classifier, 80, 2.5)
    assert row["classification"] == "SN" and row["catalogue_object_id"] == "gal-plain"
    assert row["separationArcsec"] == pytest.approx((2.5 ** 2 + 8 ** 2) ** 0.5, rel=1e-5)


def test_physical_separation_outranks_angular_score(classifier: ContextClassifier) -> None:
    """Without a synonym, the galaxy 40 Mpc away (score 2 − (50 − kpc)) beats the star (2 + sep)."""
    row = classify(classifier, 30, -2.0)
    assert row["classification"] == "SN" and row["catalogue_object_id"] == "gal-near-star"


def test_matches_within_one_arcsec_merge(classifier: ContextClassifier) -> None:
    """A galaxy and a QSO 0.5″ apart are one source: type by priority (AGN > NT), values from the closest."""
    row = classify(classifier, 100, 0.3)
    assert row["classification"] == "AGN" and row["classificationReliability"] == 1
    assert row["catalogue_table_name"] == "galaxies/qsos"
    assert row["catalogue_object_id"] == "gal-merge"  # the closest member
    assert row["separationArcsec"] == pytest.approx(0.3, abs=1e-6)
    assert row["photoZ"] == pytest.approx(0.1) and row["best_distance_flag"] == "pz" and row["physical_separation_kpc"] is None
    assert (row["Mag"], row["MagFilter"]) == (pytest.approx(17.5), "i")  # smallest magnitude error wins


def test_singletons_get_no_row(classifier: ContextClassifier) -> None:
    assert classify(classifier, 10, 1.0, object_id=77, n=1) is None


def test_rows_are_cached_per_object_and_catalogue_version(files: list[Path], tmp_path: Path) -> None:
    cache = SherlockCache(max_objects=2)
    clf = ContextClassifier(load_catalogues(files), cache=cache)
    first = classify(clf, 10, 1.0, object_id=5)
    assert classify(clf, 200, 0.0, object_id=5) is first  # cached: a moved position is not re-classified
    assert (cache.hits, cache.misses) == (1, 1)
    classify(clf, 20, 2.0, object_id=6)
    classify(clf, 20, 2.0, object_id=7)  # evicts object 5, the least recently used
    assert classify(clf, 200, 0.0, object_id=5)["classification"] == "ORPHAN"
    changed = write(tmp_path / "stars.csv", STARS[:1] + [source(200, "star", "new-star")])
    reloaded = ContextClassifier(load_catalogues([changed, *files[1:]]), cache=cache)
    assert reloaded.version != clf.version
    assert classify(reloaded, 200, 0.0, object_id=5)["catalogue_object_id"] == "new-star"


def test_batch_with_repeats_and_singletons(classifier: ContextClassifier) -> None:
    rows = classifier.classify([ObjectPosition(1, 10, 0, 2), ObjectPosition(1, 10, 0, 2), ObjectPosition(2, 40, 0, 1), ObjectPosition(3, 110, 0, 5)])
    assert {k: v and v["classification"] for k, v in rows.items()} == {1: "VS", 2: None, 3: "AGN"}


def test_external_row_wins(classifier: ContextClassifier) -> None:
    builtin = classify(classifier, 10, 1.0, object_id=42)
    external = ExternalRows()
    assert external.choose(42, builtin) is builtin
    external.apply(b"42", orjson.dumps({"diaObjectId": 42, "classification": "NT", "catalogue_table_name": "NED_D"}))
    assert external.choose(42, builtin)["classification"] == "NT"


@pytest.mark.parametrize("ra, north", [(70, 30.0), (100, 0.3), (20, 6.0), (200, 0.0)])
def test_rows_have_the_declared_columns_and_types(classifier: ContextClassifier, ra: float, north: float) -> None:
    """A built-in row is JSON as an external classifier would publish it, and reads back unchanged."""
    row = classify(classifier, ra, north)
    assert parse_row(str(row["diaObjectId"]), orjson.dumps(row)) == (row, set())


def test_object_position_from_a_dia_object() -> None:
    assert object_position({"diaObjectId": 5, "ra": 1.5, "dec": -2.0, "nDiaSources": 4}) == ObjectPosition(5, 1.5, -2.0, 4)
    assert object_position(None) is None
    assert object_position({"diaObjectId": 5, "ra": float("nan"), "dec": -2.0, "nDiaSources": 4}) is None
    assert object_position({"diaObjectId": 5, "ra": None, "dec": -2.0}) is None
