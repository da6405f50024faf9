"""Watchlists and areas end to end on the embedded broker: made with the command line from replayed
alerts' positions, matched by a worker, joined by filters, read back with confluent-kafka; a
deleted watchlist stops producing records; bad files give one line and save nothing."""
from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections import Counter
from dataclasses import replace
from pathlib import Path

import astropy.units as u
import pytest
from mocpy import MOC

from agents.cli.main import main
from agents.cli.replay import produce
from agents.dev.worker_process import WorkerProcess, settings_env
from agents.kafka.admin import ensure_topics, read_records
from agents.kafka.topology import core_topics
from pipeline.decode.wire import decode_record
from pipeline.settings import Settings
from pipeline.synthetic.alerts import synthetic_messages
from tests.conftest import connection
from tests.kafka_clients import read_topic

pytestmark = pytest.mark.integration


@pytest.fixture
def wl_settings(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Topics of this test's own, also for the command line run in this process."""
    tag = uuid.uuid4().hex[:8]
    ours = replace(settings, watchlist_topic=f"watchlists-{tag}", area_topic=f"areas-{tag}")
    for name, value in settings_env(ours).items():
        monkeypatch.setenv(name, value)
    asyncio.run(ensure_topics(connection(ours), core_topics(ours)))
    return ours


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def objects_of(messages: list[bytes]) -> dict[int, tuple[float, float]]:
    """diaObjectId -> (ra, dec) of each object in the alerts, in order of first appearance."""
    found: dict[int, tuple[float, float]] = {}
    for message in messages:
        o = decode_record(message)[1]["diaObject"]
        found.setdefault(o["diaObjectId"], (o["ra"], o["dec"]))
    return found


def alerts_per_object(messages: list[bytes]) -> Counter[int]:
    return Counter(decode_record(m)[1]["diaObject"]["diaObjectId"] for m in messages)


def object_ids(records: list) -> Counter[int]:
    return Counter(json.loads(r.value())["diaObjectId"] for r in records)


def wait_index(worker: WorkerProcess, check, timeout: float = 60.0) -> dict:
    """Until the worker's swapped-in indexes satisfy `check` (they follow the topics within seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        index = worker.get("/watchlists-index")[1]
        if check(index):
            return index
        assert time.monotonic() < deadline, f"worker index still {index}"
        time.sleep(0.2)


def test_watchlist_and_area_filters_end_to_end(wl_settings: Settings, capsys, tmp_path: Path) -> None:
    settings, bootstrap = wl_settings, wl_settings.bootstrap
    messages = list(synthetic_messages(120, seed=3))
    objects = objects_of(messages)
    ids = list(objects)
    listed, mapped, others = ids[:3], ids[3:5], ids[5:]

    wl_file = tmp_path / "mine.csv"
    wl_file.write_text("ra, dec, name\n" + "".join(f"{objects[i][0]!r}, {objects[i][1]!r}, obj{n}\n" for n, i in enumerate(listed)))
    status, out, err = cli(capsys, "watchlist", "add", "--user", "7", "--name", "my objects", str(wl_file), "--radius", "2")
    assert status == 0, err
    wl_id = int(re.fullmatch(r"watchlist (\d+) saved: 3 sources, default radius 2 arcsec\n", out).group(1))

    moc = MOC.from_cone(lon=objects[mapped[0]][0] * u.deg, lat=objects[mapped[0]][1] * u.deg, radius=10 * u.arcsec, max_depth=14)
    moc = moc.union(MOC.from_cone(lon=objects[mapped[1]][0] * u.deg, lat=objects[mapped[1]][1] * u.deg, radius=10 * u.arcsec, max_depth=14))
    moc.save(tmp_path / "area.fits", format="fits")
    status, out, err = cli(capsys, "area", "add", "--user", "7", "--name", "two galaxies", str(tmp_path / "area.fits"))
    assert status == 0, err
    ar_id = int(re.match(r"area (\d+) saved", out).group(1))

    topics = {}
    for table, column, record_id in (("watchlist_hits", "wl_id", wl_id), ("area_hits", "ar_id", ar_id)):
        sql = (f"SELECT objects.diaObjectId FROM objects, {table} WHERE objects.diaObjectId={table}.diaObjectId "
               f"AND {table}.{column}={record_id}")
        status, out, err = cli(capsys, "filter", "add", "--user", "7", "--name", table, "--mode", "plain", "--sql", sql)
        assert status == 0, err
        topics[table] = re.search(r"topic (\S+)", out).group(1)

    worker = WorkerProcess.with_free_port(settings, tmp_path / "worker.log").start()
    try:
        worker.wait_ready()
        wait_index(worker, lambda index: index["watchlists"] == [wl_id] and index["areas"] == [ar_id])
        ends = asyncio.run(produce(connection(settings), settings.alert_topic, messages, progress=False))
        worker.wait_caught_up(settings.alert_topic, ends)
        counts = alerts_per_object(messages)
        expected_wl = Counter({i: counts[i] for i in listed})
        expected_ar = Counter({i: counts[i] for i in mapped})
        got_wl = object_ids(read_topic(bootstrap, topics["watchlist_hits"], "wl-reader", sum(expected_wl.values())))
        got_ar = object_ids(read_topic(bootstrap, topics["area_hits"], "area-reader", sum(expected_ar.values())))
        assert got_wl == expected_wl and got_ar == expected_ar
        assert not set(got_wl) & set(others)

        status, out, err = cli(capsys, "watchlist", "delete", str(wl_id))
        assert (status, out) == (0, f"watchlist {wl_id} deleted\n"), err
        wait_index(worker, lambda index: index["watchlists"] == [] and index["areas"] == [ar_id])
        more = asyncio.run(produce(connection(settings), settings.alert_topic, messages, progress=False))  # the same objects again
        worker.wait_caught_up(settings.alert_topic, more)
        assert read_topic(bootstrap, topics["watchlist_hits"], "wl-reader", 0) == []
        assert object_ids(read_topic(bootstrap, topics["area_hits"], "area-reader", sum(expected_ar.values()))) == expected_ar
    finally:
        assert worker.stop() == 0, (tmp_path / "worker.log").read_text()[-3000:]


def test_bad_files_give_one_line_and_save_nothing(wl_settings: Settings, capsys, tmp_path: Path) -> None:
    (tmp_path / "columns.csv").write_text("ra, dec\n10.0, 20.0\n")
    (tmp_path / "dec95.csv").write_text("10.0, 20.0, a\n10.0, 95, b\n")
    (tmp_path / "empty.csv").write_text("")
    with open(tmp_path / "huge.csv", "wb") as f:
        f.truncate(2 * 1024**3)  # sparse: 2 GB that take no disk
    (tmp_path / "broken.moc").write_text("3/1-5 junk")
    (tmp_path / "good.csv").write_text("10.0, 20.0, a\n")
    cases = [
        (("watchlist", "add", "--user", "7", "--name", "n", str(tmp_path / "columns.csv")),
         "watchlist add: line 1: header has no name column (it needs ra, dec, name and may have radius)"),
        (("watchlist", "add", "--user", "7", "--name", "n", str(tmp_path / "dec95.csv")),
         "watchlist add: line 2: declination 95 is outside -90..90 degrees"),
        (("watchlist", "add", "--user", "7", "--name", "n", str(tmp_path / "empty.csv")), "watchlist add: the file is empty"),
        (("watchlist", "add", "--user", "7", "--name", "n", str(tmp_path / "huge.csv")),
         f"watchlist add: {tmp_path / 'huge.csv'}: 2,147,483,648 bytes; a watchlist file may hold at most 16,777,216"),
        (("area", "add", "--user", "7", "--name", "n", str(tmp_path / "broken.moc")),
         "area add: not a valid ASCII MOC: No all data have been parsed!"),
        (("watchlist", "add", "--user", "7", "--name", "n", str(tmp_path / "good.csv"), "--radius", "2000"),
         "watchlist add: radius 2000.0 must be a number of arcsec over 0 and at most 1800"),
        (("watchlist", "add", "--user", "7", "--name", "", str(tmp_path / "good.csv")), "watchlist add: name must not be empty"),
        (("watchlist", "show", "99"), "watchlist show: no watchlist 99"),
        (("watchlist", "delete", "99"), "watchlist delete: no watchlist 99"),
        (("area", "delete", "99"), "area delete: no area 99"),
    ]
    for argv, line in cases:
        status, out, err = cli(capsys, *argv)
        assert (status, out, err) == (2, "", line + "\n"), argv
    for topic in (wl_settings.watchlist_topic, wl_settings.area_topic):
        assert asyncio.run(read_records(connection(wl_settings), topic, expected=1, timeout=3)) == []
    status, out, err = cli(capsys, "watchlist", "list")
    assert (status, out, err) == (0, "", "")


def test_a_filter_may_name_only_watchlists_and_areas_its_owner_may_see(wl_settings: Settings, capsys, tmp_path: Path) -> None:
    (tmp_path / "one.csv").write_text("10.0, 20.0, a\n")
    assert cli(capsys, "watchlist", "add", "--user", "7", "--name", "private", str(tmp_path / "one.csv"))[1] == \
        "watchlist 1 saved: 1 sources, default radius 5 arcsec\n"
    assert cli(capsys, "watchlist", "add", "--user", "7", "--name", "shared", str(tmp_path / "one.csv"), "--public")[0] == 0

    def sql(wl_id: int, ar_id: int | None = None) -> str:
        area = f", area_hits WHERE objects.diaObjectId=area_hits.diaObjectId AND area_hits.ar_id={ar_id} AND" if ar_id else " WHERE"
        return (f"SELECT objects.diaObjectId FROM objects, watchlist_hits{area} objects.diaObjectId=watchlist_hits.diaObjectId "
                f"AND watchlist_hits.wl_id={wl_id}")

    assert cli(capsys, "filter", "add", "--user", "8", "--name", "x", "--mode", "plain", "--sql", sql(1)) == (
        2, "", "refused: watchlist 1 is another user's and not public (watchlist_hits.wl_id = 1)\n")
    assert cli(capsys, "filter", "add", "--user", "8", "--name", "x", "--mode", "plain", "--sql", sql(3, 4)) == (
        2, "", "refused: watchlist 3 does not exist (watchlist_hits.wl_id = 3); area 4 does not exist (area_hits.ar_id = 4)\n")
    status, out, err = cli(capsys, "filter", "add", "--user", "8", "--name", "x", "--mode", "plain", "--sql", sql(2))
    assert status == 0 and out.startswith("filter "), err
    assert cli(capsys, "filter", "add", "--user", "7", "--name", "y", "--mode", "plain", "--sql", sql(1))[0] == 0

    status, out, _ = cli(capsys, "filter", "check", "--user", "8", sql(1, 9))
    assert status == 0 and out.splitlines()[-2:] == [
        "warning: watchlist 1 is another user's and not public (watchlist_hits.wl_id = 1): saving it would be refused",
        "warning: area 9 does not exist (area_hits.ar_id = 9): saving it would be refused"]


def test_list_show_and_update_from_the_command_line(wl_settings: Settings, capsys, tmp_path: Path) -> None:
    (tmp_path / "one.csv").write_text("10.0, 20.0, a\n")
    (tmp_path / "two.txt").write_text("# ra dec name radius\n01:00:00 +02:00:00 b 3\n15 -3 c none\n")
    (tmp_path / "area.txt").write_text("5/10-20\n")
    assert cli(capsys, "watchlist", "add", "--user", "7", "--name", "mine", str(tmp_path / "one.csv"))[0] == 0
    assert cli(capsys, "area", "add", "--user", "7", "--name", "field", str(tmp_path / "area.txt"), "--public")[0] == 0
    assert cli(capsys, "watchlist", "update", "1", "--file", str(tmp_path / "two.txt"), "--public", "yes", "--radius", "4") == (
        0, "watchlist 1 updated: 2 sources (version 2)\n", "")
    assert cli(capsys, "watchlist", "update", "1", "--active", "no")[1] == "watchlist 1 updated: 2 sources (version 2)\n"
    assert cli(capsys, "watchlist", "list")[1] == '1  user 7            2 sources  4"  inactive public mine\n'
    shown = {line[:12].strip(): line[12:] for line in cli(capsys, "watchlist", "show", "1")[1].splitlines()}
    assert {k: shown[k] for k in ("owner", "public", "active", "radius", "n_sources", "version")} == {
        "owner": "7", "public": "True", "active": "False", "radius": "4.0", "n_sources": "2", "version": "2"}
    assert cli(capsys, "area", "list")[1] == "1  user 7       0.08952% of the sky  active public   field\n"  # 11 cells of order 5
    assert "name         field" in cli(capsys, "area", "show", "1")[1]
    assert cli(capsys, "watchlist", "update", "1", "--radius", "0") == (
        2, "", "watchlist update: radius 0.0 must be a number of arcsec over 0 and at most 1800\n")
    with pytest.raises(SystemExit) as exit_:
        main(["watchlist", "show", "x"])
    err = capsys.readouterr().err  # the program's name is argv[0]'s
    assert exit_.value.code == 2 and re.fullmatch(r"\S+ watchlist show: argument id: 'x' is not a whole number \(see \S+ watchlist show --help\)\n", err)
