"""`run.py tns load FILE [--incremental]`: put the Transient Name Server's objects on the TNS topic.

The set on the topic is read back first, so a full load can tombstone the names no longer in the
file and an incremental file (TNS's daily and hourly ones) publishes only what it changes.
Nothing is published for a file that cannot be read.
"""
from __future__ import annotations

import argparse
import time

from agents.kafka.admin import ensure_topics
from agents.kafka.compacted import CompactedReader
from agents.kafka.connection import KafkaConnection
from agents.kafka.topology import core_topics
from agents.store.filters import ProducerSend
from pipeline.context.tns import TnsSet, read_tns_file
from pipeline.settings import Settings


async def read_tns_set(settings: Settings, kafka: KafkaConnection) -> TnsSet:
    """The TNS set as every worker holds it, read once from its topic."""
    tns = TnsSet()
    await CompactedReader(kafka, {settings.tns_topic: tns.apply}, client_id="alertflow-tns").read_all()
    return tns


async def load(args: argparse.Namespace, settings: Settings, kafka: KafkaConnection) -> str:
    """Publish the file's changes; the one line to print."""
    rows = read_tns_file(args.file, modified=time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()))  # TnsError before any I/O
    await ensure_topics(kafka, core_topics(settings))
    tns = await read_tns_set(settings, kafka)
    before = len(tns)
    records = tns.update(rows) if args.incremental else tns.load_full(rows)
    async with ProducerSend(kafka, settings.max_message_bytes) as send:
        for key, value in records:
            await send(settings.tns_topic, key, value, None)
    removed = sum(1 for _, value in records if value is None)
    kind = "incremental" if args.incremental else "full"
    return (f"tns load ({kind}): {len(rows)} rows read from {args.file}; {len(records) - removed} published, {removed} removed; "
            f"the set on {settings.tns_topic} went from {before} to {len(tns)} objects")
