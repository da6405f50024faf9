"""The synthetic catalogue written for `replay --synthetic`, classified against the same synthetic alerts."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from pipeline.context.catalogue import load_catalogues
from pipeline.context.sherlock import ContextClassifier, object_position
from pipeline.synthetic.alerts import object_alerts
from pipeline.synthetic.catalogue import synthetic_catalogue, write_synthetic_catalogue

EXPECTED = {"sn": {"SN", "NT"}, "var": {"VS", "BS"}, "agn": {"AGN"}, "bogus": {"ORPHAN"}}


def classify_stream(classifier: ContextClassifier, n: int, seed: int) -> Counter:
    seen = Counter()
    for obj, alert in object_alerts(n, seed):
        row = classifier.classify([object_position(alert["diaObject"])])[alert["diaObject"]["diaObjectId"]]
        if alert["diaObject"]["nDiaSources"] < 2:
            assert row is None
            continue
        assert row["classification"] in EXPECTED[obj.kind], (obj.kind, row)
        seen[(obj.kind, row["classification"])] += 1
    return seen


def test_csv_catalogue_classifies_each_kind(tmp_path: Path) -> None:
    paths = write_synthetic_catalogue(tmp_path, 600, seed=11)
    assert [p.name for p in paths] == ["synthetic_galaxies.csv", "synthetic_stars.csv", "synthetic_qsos.csv"]
    seen = classify_stream(ContextClassifier(load_catalogues(paths)), 600, 11)
    assert {kind for kind, _ in seen} == set(EXPECTED)  # every kind met and checked
    assert seen[("sn", "NT")] and seen[("sn", "SN")] and seen[("var", "BS")]


def test_deterministic_and_parquet_matches_csv(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    a = load_catalogues(write_synthetic_catalogue(tmp_path / "a", 200, seed=2))
    b = load_catalogues(write_synthetic_catalogue(tmp_path / "b", 200, seed=2))
    pq = load_catalogues(write_synthetic_catalogue(tmp_path / "pq", 200, seed=2, parquet=True))
    memory = synthetic_catalogue(200, seed=2)
    assert a.version == b.version
    for other in (pq, memory):
        assert len(other) == len(a) and (other.kind == a.kind).all() and abs(other.xyz - a.xyz).max() < 1e-12
        assert list(other.name) == list(a.name)
