"""Lasair's real filter shapes joining sherlock_classifications and crossmatch_tns, end to end: the
synthetic catalogue written by `replay --catalogue`, a TNS set put on its topic by `tns load` (full,
incremental, full again), filters saved with `filter add` (SQL and Lasair's three-part form), one
worker with the catalogue, and the records read back with confluent-kafka equal to what the same
pure classifier and TNS match give over the same alerts."""
from __future__ import annotations

import asyncio
import csv
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import orjson
import pytest

from agents.cli.main import main
from agents.dev.worker_process import WorkerProcess, settings_env
from agents.store.filters import FilterAdmin, ProducerSend, load_state
from pipeline.context.sources_stage import ContextInputs, builtin_classifier
from pipeline.context.tns import read_tns_file
from pipeline.decode.schema_lookup import SchemaResolver
from pipeline.features.ingest import ingest
from pipeline.streams.dry_run import records_for
from pipeline.streams.filter_record import FilterRecord, create
from pipeline.synthetic.alerts import object_alerts, synthetic_messages
from tests.conftest import connection
from tests.kafka_clients import confluent_consumer
from tests.pipeline.filters.test_filter_joins import REAL_LASAIR_FILTERS

pytestmark = pytest.mark.integration

ALERTS, SEED = 300, 5
TNS_HEADER = ["objid", "name_prefix", "name", "ra", "declination", "redshift", "typeid", "type", "reporting_groupid", "reporting_group",
              "source_groupid", "source_group", "discoverydate", "discoverymag", "discmagfilter", "filter", "reporters", "time_received",
              "internal_names", "Discovery_ADS_bibcode", "Class_ADS_bibcodes", "creationdate", "lastmodified"]
THREE_PART = [  # Lasair's most common shape, and the cookbook's TNS one, as the web form holds them
    ("objects.diaObjectId, sherlock_classifications.classification AS class", "objects, sherlock_classifications",
     'sherlock_classifications.classification IN ("SN","NT")'),
    ("objects.diaObjectId, crossmatch_tns.tns_name, crossmatch_tns.type", "objects,crossmatch_tns", "crossmatch_tns.type = 'SN II'"),
]


def write_tns(path: Path, objects: list[tuple[int, str, float, float, str, str]]) -> Path:
    """A TNS objects CSV in TNS's published layout: (objid, name, ra, dec, type, lastmodified)."""
    with path.open("w", newline="") as f:
        f.write('"2026-12-01 00:00:00"\n')
        writer = csv.writer(f, quoting=csv.QUOTE_ALL)
        writer.writerow(TNS_HEADER)
        for objid, name, ra, dec, kind, modified in objects:
            values = dict.fromkeys(TNS_HEADER, "")
            values.update(objid=objid, name_prefix="SN" if kind else "AT", name=name, ra=f"{ra:.7f}", declination=f"{dec:.7f}", type=kind,
                          reporting_group="LSST", source_group="LSST", discoverydate="2026-11-01 00:00:00.000", discoverymag="19.5",
                          filter="r-LSST", reporters="A. Tester", internal_names=f"LSST-{objid}", lastmodified=modified)
            writer.writerow([values[h] for h in TNS_HEADER])
    return path


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    status = main(list(argv))
    out, err = capsys.readouterr()
    assert status == 0, err
    return out.strip()


def test_real_lasair_filters_join_context_end_to_end(settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    settings = replace(settings, tns_watchlist_id=1)  # the cookbook's filter says wl_id=1: a deployment's TNS watchlist id
    for name, value in settings_env(settings).items():
        monkeypatch.setenv(name, value)
    kafka = connection(settings)

    # TNS: the positions of a few replayed objects (one 1.5″ off), one decoy nowhere near; then a daily file, then a new full file
    positions = {}
    for obj, _ in object_alerts(ALERTS, SEED):
        positions.setdefault(obj.object_id, (obj.ra0, obj.dec0))
    ids = list(positions)[:6]
    picked = [positions[i] for i in ids]
    first = [(900 + k, f"2026t{k}", ra, dec + (1.5 / 3600 if k == 0 else 0.0), "SN II" if k < 2 else "SN Ia", "2026-11-02 00:00:00")
             for k, (ra, dec) in enumerate(picked[:4])] + [(999, "2026decoy", 1.0, 1.0, "SN II", "2026-11-02 00:00:00")]
    daily = [(902, "2026t2", *picked[2], "SN II", "2026-11-20 00:00:00"), (904, "2026t4", *picked[4], "SN II", "2026-11-20 00:00:00")]
    final = [row for row in first[:4] if row[0] != 902] + daily
    bootstrap = ("--bootstrap", settings.bootstrap)
    assert cli(capsys, "tns", "load", str(write_tns(tmp_path / "full.csv", first)), *bootstrap).endswith("went from 0 to 5 objects")
    out = cli(capsys, "tns", "load", "--incremental", str(write_tns(tmp_path / "daily.csv", daily)), *bootstrap)
    assert "2 published, 0 removed" in out and out.endswith("from 5 to 6 objects")
    out = cli(capsys, "tns", "load", str(write_tns(tmp_path / "full2.csv", final)), *bootstrap)
    assert "5 published, 1 removed" in out and out.endswith("from 6 to 5 objects")

    # filters: every real shape as SQL, and Lasair's three-part form through the CLI
    records = [create(settings.topic_prefix, "7", f"real{k}", sql, "plain") for k, sql in enumerate(REAL_LASAIR_FILTERS)]
    asyncio.run(save(settings, kafka, records))
    for k, (select, tables, where) in enumerate(THREE_PART):
        assert cli(capsys, "filter", "add", *bootstrap, "--user", "7", "--name", f"form{k}", "--mode", "plain",
                   "--select", select, "--tables", tables, "--where", where).startswith("filter ")
    registry, _ = asyncio.run(load_state(settings, kafka))
    saved = list(registry.records.values())
    assert len(saved) == len(REAL_LASAIR_FILTERS) + len(THREE_PART)

    # an external Sherlock's row for an object with no host in the catalogue: it wins over the built-in one
    external = (str(ids[5]).encode(), orjson.dumps({"classification": "NT", "catalogue_object_id": "external-host"}))
    asyncio.run(publish(settings, kafka, settings.sherlock_topic, [external]))

    # alerts and their catalogue, then one worker with it
    out = cli(capsys, "replay", "--synthetic", str(ALERTS), "--seed", str(SEED), "--catalogue", str(tmp_path / "catalogue"), *bootstrap)
    catalogue = out.splitlines()[0].split("ALERTFLOW_CONTEXT_CATALOGUES=")[1]
    worker = WorkerProcess.with_free_port(replace(settings, context_catalogues=catalogue), tmp_path / "worker.log").start()
    try:
        worker.wait_caught_up(settings.alert_topic, replayed_ends(out), timeout=90)
        stats = worker.stats()
    finally:
        assert worker.stop() == 0, (tmp_path / "worker.log").read_text()[-3000:]
    assert stats["alerts_processed"] == ALERTS and set(stats["context_ms_per_alert"]) == {"sherlock", "tns", "watchlists", "areas", "annotations"}

    # the expected records: the same pure sources over the same alerts
    resolver = SchemaResolver(settings.schema_dir, settings.schema_registry_url)
    items = [ingest(m, resolver) for m in synthetic_messages(ALERTS, SEED)]
    inputs = ContextInputs(settings)
    inputs.tns.load_full(read_tns_file(tmp_path / "full2.csv"))
    inputs.external.apply(*external)
    context = inputs.stage(builtin_classifier(catalogue.split(","), 1000)).lookup(items)
    expected = {r.topic: Counter(plain(r.key, r.value) for r in records_for(r, items, context)) for r in saved}
    by_name = {r.name: expected[r.topic] for r in saved}

    def keys(name: str) -> set[bytes]:
        return {key for key, _ in by_name[name]}

    # SN II in the final set: 2026t0 (1.5″ off), t1, t2 (typed by the daily file), t4 (added by it)
    assert keys("form1") == keys("real1") == keys("real2") == {str(ids[k]).encode() for k in (0, 1, 2, 4)}
    classes = {orjson.loads(value)["class"] for _, value in by_name["form0"]}
    assert classes == {"SN", "NT"}  # Lasair's most common shape: the synthetic hosts give both
    assert str(ids[5]).encode() in keys("form0")  # through the external row
    got = read_topics(settings.bootstrap, list(expected), sum(sum(c.values()) for c in expected.values()))
    assert got == {topic: counts for topic, counts in expected.items() if counts}


def replayed_ends(out: str) -> dict[int, int]:
    """The next offset per partition `replay` printed."""
    return {int(p): int(e) for p, e in (pair.split(":") for pair in out.splitlines()[1].split("{")[1].rstrip(")}").split(", "))}


async def publish(settings, kafka, topic: str, records: list[tuple[bytes, bytes]]) -> None:
    async with ProducerSend(kafka, settings.max_message_bytes) as send:
        for key, value in records:
            await send(topic, key, value, None)


async def save(settings, kafka, records: list[FilterRecord]) -> None:
    async with ProducerSend(kafka, settings.max_message_bytes) as send:
        await FilterAdmin(settings, kafka, send).add_many(records)


NOW_FIELDS = ("UTC", "age", "since")  # the time of evaluation, and the real filters' mjdnow() - ... outputs


def plain(key: bytes, value: bytes) -> tuple[bytes, bytes]:
    """A plain record without the values that depend on when it was made."""
    fields = orjson.loads(value)
    for name in NOW_FIELDS:
        fields.pop(name, None)
    return key, orjson.dumps(fields, option=orjson.OPT_SORT_KEYS)


def read_topics(bootstrap: str, topics: list[str], expected: int, quiet: float = 2.0) -> dict[str, Counter]:
    """Every record of `topics` with one confluent-kafka consumer, until `expected` arrived and `quiet` s more passed."""
    consumer = confluent_consumer(bootstrap, f"e2e-{time.monotonic_ns()}")
    consumer.subscribe(topics)
    got: dict[str, Counter] = {}
    n, deadline = 0, time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            if n >= expected:
                deadline = min(deadline, time.monotonic() + quiet)
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            assert not msg.error(), msg.error()
            got.setdefault(msg.topic(), Counter())[plain(msg.key(), msg.value())] += 1
            n += 1
    finally:
        consumer.close()
    return got
