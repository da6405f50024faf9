"""Catalogue files: what loads, and the one line a bad file gives."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pipeline.context.catalogue import GALAXY, QSO, STAR, CatalogueError, load_catalogues


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_csv_with_usual_spellings(tmp_path: Path) -> None:
    cat = load_catalogues([write(tmp_path / "ned.csv", "RAdeg,DECL,Type,ID,Redshift,Major_Axis\n10.5,-3,galaxy,NGC 1,0.01,30\n11,4,AGN,Q 2,,\n12,5,Star,S3,,\n")])
    assert len(cat) == 3 and cat.tables == ("ned",)
    assert cat.kind.tolist() == [GALAXY, QSO, STAR]
    assert cat.position(0) == pytest.approx((10.5, -3.0))
    assert cat.object_id(0) == "NGC1" and cat.value("z", 0) == pytest.approx(0.01) and cat.value("z", 1) is None
    assert cat.value("major_axis", 0) == 30.0 and cat.value("distance", 0) is None


@pytest.mark.parametrize("text, message", [
    ("ra,dec,name\n1,2,a\n", "no column 'kind' (accepted names: kind, type, class)"),
    ("ra,dec,kind\n1,2,star\n400,2,star\n", "line 3, column 'ra': 400 is out of range (0 to 360 degrees)"),
    ("ra,dec,kind\n1,,star\n", "line 2, column 'dec': empty: every source needs a position"),
    ("ra,dec,kind,z\n1,2,galaxy,abc\n", "line 2, column 'z': 'abc' is not a number"),
    ("ra,dec,kind,z\n1,2,galaxy,-0.1\n", "line 2, column 'z': -0.1 is out of range (must not be negative)"),
    ("ra,dec,kind\n1,2,nebula\n", "line 2, column 'kind': 'nebula' is not a kind: expected one of star, galaxy, qso, agn, cv"),
    ("ra,dec,kind\n1,2\n", "line 2: 2 values, the header has 3"),
    ("", "empty file: expected a header line"),
])
def test_bad_csv_gives_one_line(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path / "bad.csv", text)
    with pytest.raises(CatalogueError) as err:
        load_catalogues([path])
    assert str(err.value) == f"{path}: {message}"


def test_one_bad_file_loads_nothing(tmp_path: Path) -> None:
    good = write(tmp_path / "good.csv", "ra,dec,kind\n1,2,star\n")
    with pytest.raises(CatalogueError, match="other.txt: not a catalogue file"):
        load_catalogues([good, write(tmp_path / "other.txt", "ra,dec,kind\n")])
    with pytest.raises(CatalogueError, match="missing.csv: cannot read: No such file or directory"):
        load_catalogues([good, tmp_path / "missing.csv"])


def test_parquet_reads_like_csv(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    pq.write_table(pa.table({"ra": [1.0, 2.0], "dec": [3.0, 4.0], "kind": ["qso", "cv"], "z": [1.2, None]}), tmp_path / "q.parquet")
    cat = load_catalogues([tmp_path / "q.parquet"])
    assert cat.tables == ("q",) and cat.kind.tolist() == [QSO, 3] and np.isnan(cat.z[1]) and cat.object_id(1) == "2"
    pq.write_table(pa.table({"ra": [1.0, 2.0], "dec": [3.0, 95.0], "kind": ["qso", "cv"]}), tmp_path / "bad.parquet")
    with pytest.raises(CatalogueError, match=r"bad.parquet: row 2, column 'dec': 95 is out of range"):
        load_catalogues([tmp_path / "bad.parquet"])
    write(tmp_path / "junk.parquet", "not parquet")
    with pytest.raises(CatalogueError, match="junk.parquet: not a readable Parquet file"):
        load_catalogues([tmp_path / "junk.parquet"])


def test_version_follows_the_content(tmp_path: Path) -> None:
    a = write(tmp_path / "a.csv", "ra,dec,kind\n1,2,star\n")
    first = load_catalogues([a]).version
    assert load_catalogues([a]).version == first
    write(tmp_path / "a.csv", "ra,dec,kind\n1,2.5,star\n")
    assert load_catalogues([a]).version != first
