"""The main job on the embedded default, start to finish, with output a person can read.

Broker and topics; five filters (plain, lite, full, e-mail, and one joining Sherlock's context
classification, as Lasair users most often write); the bundled sample alerts, synthetic ones and a
few broken messages replayed; a worker process with the synthetic alerts' context catalogue (host
galaxies, stars, QSOs); then what it did: records on each
filter's topic, the e-mail it sent (to a local SMTP server started for the demo), and what went to
the dead-letter topic and why.
"""
from __future__ import annotations

import asyncio
import email
import email.policy
import itertools
import sys
import tempfile
import textwrap
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson

from agents.cli.replay import file_messages, produce
from agents.kafka.admin import ensure_topics, read_records
from agents.kafka.connection import KafkaConnection
from agents.kafka.topology import core_topics
from agents.store.filters import FilterAdmin, ProducerSend
from pipeline.decode import dead_letter
from pipeline.settings import Settings
from pipeline.streams.filter_record import FilterRecord
from pipeline.synthetic.alerts import synthetic_messages
from pipeline.synthetic.catalogue import write_synthetic_catalogue
from schemas import SAMPLES
from .broker import broker_for, free_port
from .worker_process import WorkerProcess

SAMPLE_FILES = sorted(SAMPLES.iterdir())

DEMO_FILTERS = [
    dict(name="Bright now", mode="plain",
         sql="SELECT objects.diaObjectId, objects.ra, objects.decl, objects.latest_psfFlux FROM objects "
             "WHERE objects.latest_psfFlux > 100000 AND objects.latestR > 0.5"),
    dict(name="Long light curves", mode="lite",
         sql="SELECT objects.diaObjectId, objects.nDiaSources, objects.medianR FROM objects WHERE objects.nDiaSources >= 60"),
    dict(name="Red pairs", mode="full",
         sql="SELECT objects.diaObjectId, objects.latestPairColourBands AS bands, objects.latestPairColourMag AS colour "
             "FROM objects WHERE objects.latestPairColourMag > 1.0"),
    dict(name="Northern movers", mode="email", email="astronomer@example.org",
         sql="SELECT objects.diaObjectId, objects.ra, objects.decl, objects.jump1 FROM objects WHERE objects.decl > 20 AND objects.jump1 > 5"),
    dict(name="Supernova candidates", mode="plain",
         sql="SELECT objects.diaObjectId, sherlock_classifications.classification AS class, sherlock_classifications.catalogue_object_id AS host, "
             "sherlock_classifications.separationArcsec AS sep, objects.absMag FROM objects, sherlock_classifications "
             'WHERE objects.diaObjectId=sherlock_classifications.diaObjectId AND sherlock_classifications.classification IN ("SN","NT")'),
]


def broken_messages(good: bytes) -> list[bytes]:
    """One of each kind of bad input a broker sees, so the demo shows the dead-letter path."""
    return [b"", good[:40], b"\x00\x00\x00\x00\x07" + good[5:], b"not an alert"]


class LocalMailbox:
    """An SMTP server on 127.0.0.1 for the demo's e-mail filter (aiosmtpd, installed with [dev])."""

    def __init__(self) -> None:
        self.messages: list[Any] = []
        self.port = free_port()
        self.controller: Any = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"

    def __enter__(self) -> LocalMailbox:
        try:
            from aiosmtpd.controller import Controller
        except ImportError:
            return self
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.controller is not None:
            self.controller.stop()


def add_filters(settings: Settings, kafka: KafkaConnection) -> list[FilterRecord]:
    async def go() -> list[FilterRecord]:
        async with ProducerSend(kafka, settings.max_message_bytes) as send:
            admin = FilterAdmin(settings, kafka, send)
            # public: the report reads their usage from GET /filters, which shows others' public filters without a token
            return [(await admin.add(user="1", public=True, **spec))[0] for spec in DEMO_FILTERS]
    return asyncio.run(go())


def run_demo(settings: Settings, synthetic: int, seed: int) -> int:
    embedded = not settings.bootstrap
    with broker_for(settings) as (settings, kafka, _), tempfile.TemporaryDirectory(prefix="alertflow-demo-") as tmp, LocalMailbox() as mailbox:
        catalogue = write_synthetic_catalogue(Path(tmp) / "catalogue", synthetic, seed)
        settings = replace(settings, data_dir=tmp, smtp_host="127.0.0.1", smtp_port=mailbox.port, digest_check_seconds=1.0,
                           context_catalogues=",".join(map(str, catalogue)))
        asyncio.run(ensure_topics(kafka, core_topics(settings)))
        filters = add_filters(settings, kafka)
        print("filters:")
        for f in filters:
            where = f.topic if f.streams_to_kafka else f"e-mail to {f.email}"
            print(f"  {f.id}  {f.mode:<6} {where:<32} {f.name}")

        samples = list(file_messages(SAMPLE_FILES))
        broken = broken_messages(samples[0])
        messages = itertools.chain(samples, synthetic_messages(synthetic, seed), broken)
        total = len(samples) + synthetic + len(broken)
        print(f"\nreplaying {len(samples)} sample alerts, {synthetic} synthetic v11 alerts and {len(broken)} broken messages;"
              f"\nthe worker's context catalogue: {', '.join(p.name for p in catalogue)} (their hosts, stars and QSOs)")
        ends = asyncio.run(produce(kafka, settings.alert_topic, messages, total=total, progress=sys.stderr.isatty()))

        log_path = Path(tmp) / "worker.log"
        worker = WorkerProcess.with_free_port(settings, log_path).start()
        try:
            print("worker started; waiting until it has committed every offset ...", flush=True)
            worker.wait_caught_up(settings.alert_topic, ends, timeout=300)
            stats = worker.stats()
            filter_view = {f["id"]: f for f in worker.get("/filters")[1]}
            digests = worker.get("/digests")[1]
        finally:
            status = worker.stop()
        dead = asyncio.run(read_records(kafka, settings.dead_letter_topic, len(broken), timeout=10))
        firsts = {f.topic: first_record(kafka, f.topic) for f in filters if f.streams_to_kafka}
        print_report(stats, filters, filter_view, firsts, digests, mailbox, dead, status, settings.bootstrap, embedded)
        ok = stats["alerts_processed"] == total - len(broken) and len(dead) == len(broken)
        return 0 if ok and status == 0 else 1


def first_record(kafka: KafkaConnection, topic: str) -> dict[str, Any] | None:
    records = asyncio.run(read_records(kafka, topic, 1, timeout=5))
    return orjson.loads(records[0].value) if records else None


def shorten(value: dict[str, Any]) -> str:
    """A record as one readable line: long light-curve lists cut to their first entry."""
    alert = value.get("alert")
    if alert:
        value = {**value, "alert": {k: (v[:1] + [f"... {len(v) - 1} more"] if isinstance(v, list) and len(v) > 1 else v)
                                    for k, v in alert.items()}}
        if isinstance(value["alert"].get("diaObject"), dict):
            value["alert"]["diaObject"] = f"{{... {len(alert['diaObject'])} attributes}}"
    return textwrap.shorten(orjson.dumps(value).decode(), 300, placeholder=" ...}")


READ_IT_YOURSELF = """
The embedded broker stopped with the demo, and its topics with it. To read the records yourself,
keep a broker running and point the demo at it:
    python run.py broker                     # prints 127.0.0.1:PORT; leave it running
    python run.py demo --bootstrap 127.0.0.1:PORT
    python run.py consume lasair_1Brightnow --bootstrap 127.0.0.1:PORT"""
READ_IT_NOW = """
The records stay on the broker at {bootstrap}; read a filter's topic with:
    python run.py consume {topic} --bootstrap {bootstrap}"""


def print_report(stats: dict, filters: list[FilterRecord], view: dict, firsts: dict[str, dict | None], digests: dict,
                 mailbox: LocalMailbox, dead: list, status: int, bootstrap: str, embedded: bool) -> None:
    print()
    print(f"alerts processed   {stats['alerts_processed']}, {stats['records_produced']} records produced")
    print(f"worker rate        {stats['alerts_per_second']} alerts/s (first to last alert, one process)")
    print(f"dead-lettered      {stats['dead_lettered']} {stats['dead_letter_reasons']}")
    print(f"context cost       {stats['context_ms_per_alert']} ms per alert, per source")
    print()
    for f in filters:
        usage = view.get(f.id, {}).get("usage_today", {})
        print(f"{f.name} ({f.mode}): {usage.get('matches', 0)} matches")
        if f.streams_to_kafka:
            print(f"  topic {f.topic}: {usage.get('records', 0)} records, {usage.get('bytes', 0)} bytes")
            if firsts.get(f.topic):
                print("  first record: " + shorten(firsts[f.topic]))
        else:
            pending = digests["filters"].get(f.id, {}).get("pending", 0)
            print(f"  {len(mailbox.messages)} e-mail sent at once; {pending} later matches held for the next digest (24 h)")
            for message in mailbox.messages:
                print(f"  e-mail: \"{message['Subject']}\" to {message['To']}")
    print()
    print("dead-letter topic:")
    for record in dead:
        headers = {k: v.decode() for k, v in record.headers}
        where = f"{headers[dead_letter.SOURCE_TOPIC]}[{headers[dead_letter.SOURCE_PARTITION]}]@{headers[dead_letter.SOURCE_OFFSET]}"
        print(f"  {where:<24} {len(record.value or b''):>6} bytes  {headers[dead_letter.REASON]}: {headers[dead_letter.MESSAGE]}")
    print()
    print(f"worker stopped with SIGTERM, exit status {status}")
    print(READ_IT_YOURSELF if embedded else READ_IT_NOW.format(bootstrap=bootstrap, topic=next(
        (f.topic for f in filters if f.streams_to_kafka), "TOPIC")))
