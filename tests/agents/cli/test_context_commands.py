"""The context commands as a user meets them: `filter test` joining the synthetic catalogue and a TNS
file, and one line (nothing saved or published) for every mistake in `filter add`'s three-part form,
`tns load` and `replay --catalogue`."""
from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from agents.cli.main import main
from pipeline.synthetic.alerts import object_alerts, synthetic_messages
from pipeline.synthetic.catalogue import write_synthetic_catalogue
from tests.agents.worker.test_context_e2e import write_tns

SN_SQL = ("SELECT objects.diaObjectId, sherlock_classifications.classification AS class, crossmatch_tns.tns_name "
          "FROM objects, sherlock_classifications, crossmatch_tns "
          "WHERE sherlock_classifications.classification IN ('SN', 'NT', 'VS', 'AGN', 'BS', 'ORPHAN')")


def run(capfd: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capfd.readouterr()
    return status, out, err


def test_filter_test_shows_joined_columns_and_the_sources_present(tmp_path: Path, capfd: pytest.CaptureFixture[str],
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ALERTFLOW_BOOTSTRAP", raising=False)
    files = []
    for k, message in enumerate(synthetic_messages(80, seed=2)):
        files.append(tmp_path / f"alert{k}.wire")
        files[-1].write_bytes(message)
    catalogue = ",".join(map(str, write_synthetic_catalogue(tmp_path / "catalogue", 80, seed=2)))
    obj, _ = next(iter(object_alerts(80, seed=2)))
    tns = write_tns(tmp_path / "tns.csv", [(1, "2026aa", obj.ra0, obj.dec0, "SN Ia", "2026-11-02 00:00:00")])

    status, out, err = run(capfd, "filter", "test", SN_SQL, *map(str, files), "--catalogue", catalogue, "--tns", str(tns), "--limit", "100")
    assert status == 0, err
    records = [orjson.loads(line) for line in out.splitlines()]
    assert records and {r["diaObjectId"] for r in records} == {obj.object_id}
    assert {r["tns_name"] for r in records} == {"2026aa"} and records[0]["class"] in ("SN", "NT", "VS", "AGN", "BS", "ORPHAN")
    lines = err.strip().splitlines()
    assert lines[-1] == (f"context: sherlock_classifications: built-in classifier over {catalogue_size(catalogue):,} sources in 3 file(s), "
                         "no external rows (no broker); crossmatch_tns and TNS watchlist_hits (wl_id 0): 1 TNS objects from " + str(tns))

    status, out, err = run(capfd, "filter", "test", SN_SQL, *map(str, files))
    assert status == 0 and out == "" and "no catalogue" in err and "no TNS set" in err


def catalogue_size(paths: str) -> int:
    return sum(len(Path(p).read_text().splitlines()) - 1 for p in paths.split(","))


@pytest.mark.parametrize("argv, message", [
    (["--sql", "SELECT objects.ra FROM objects", "--select", "objects.ra", "--tables", "objects"], "not both"),
    (["--select", "objects.ra", "--where", "objects.ra > 1"], "the three-part form needs tables"),
    (["--select", "objects.ra", "--tables", "objects, sherlock"], "unknown table token 'sherlock'"),
    (["--select", "objects.ra", "--tables", "objects, crossmatch_tns, watchlist:3"], "crossmatch_tns"),
])
def test_filter_add_mistakes_are_one_line(argv: list[str], message: str, capfd: pytest.CaptureFixture[str], settings) -> None:
    status, out, err = run(capfd, "filter", "add", "--bootstrap", settings.bootstrap, "--user", "1", "--name", "x", "--mode", "plain", *argv)
    assert status == 2 and out == "" and len(err.strip().splitlines()) == 1 and message in err and err.startswith("refused: ")


def test_tns_load_of_a_bad_file_is_one_line_and_publishes_nothing(tmp_path: Path, capfd: pytest.CaptureFixture[str], settings,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALERTFLOW_TNS_TOPIC", settings.tns_topic)
    bad = write_tns(tmp_path / "bad.csv", [(1, "2026aa", 10.0, 95.0, "", "2026-11-02 00:00:00")])
    status, out, err = run(capfd, "tns", "load", str(bad), "--bootstrap", settings.bootstrap)
    assert status == 1 and out == ""
    assert err.strip() == f"tns: {bad}: line 3, column 'declination': '95.0000000' is not within -90 to 90"
    good = write_tns(tmp_path / "good.csv", [(1, "2026aa", 10.0, 5.0, "", "2026-11-02 00:00:00")])
    status, out, err = run(capfd, "tns", "load", str(good), "--incremental", "--bootstrap", settings.bootstrap)
    assert status == 0 and out.strip().endswith("went from 0 to 1 objects"), err  # the bad load left nothing behind
    status, out, err = run(capfd, "tns", "load", str(tmp_path / "missing.csv"), "--bootstrap", settings.bootstrap)
    assert status == 1 and err.startswith("tns: ") and "missing.csv: cannot read" in err and len(err.strip().splitlines()) == 1


def test_replay_catalogue_needs_synthetic_alerts(capfd: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capfd, "replay", "--samples", "--catalogue", "somewhere", "--bootstrap", "127.0.0.1:1")
    assert status == 2 and err.strip() == "replay: --catalogue writes the catalogue of synthetic alerts: give --synthetic N too"
