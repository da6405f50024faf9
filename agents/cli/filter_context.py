"""The context `filter test` joins: the same sources a worker builds, in-process over the test's alerts.

Catalogue files from `--catalogue` (else ALERTFLOW_CONTEXT_CATALOGUES); the TNS set from `--tns FILE`,
else from the TNS topic when a broker is given; an external Sherlock's rows from its topic when a
broker is given. So a user can try a joined filter before saving it, and is told what was there.
"""
from __future__ import annotations

import argparse
import asyncio

from agents.kafka.admin import ensure_topics
from agents.kafka.compacted import CompactedReader
from agents.kafka.connection import KafkaConnection
from agents.kafka.reachable import check_reachable
from agents.kafka.topology import core_topics
from pipeline.context.batch import BatchContext
from pipeline.context.sources_stage import ContextInputs, builtin_classifier, catalogue_paths
from pipeline.context.tns import read_tns_file
from pipeline.features.ingest import Ingested
from pipeline.settings import Settings


def test_context(args: argparse.Namespace, settings: Settings, items: list[Ingested]) -> tuple[BatchContext, str]:
    """The items' context rows, and one line saying which sources were present."""
    inputs = ContextInputs(settings)
    handlers = inputs.handlers()
    tns_from = "no TNS set (give --tns FILE or a broker)"
    if args.tns:
        inputs.tns.load_full(read_tns_file(args.tns))
        handlers.pop(settings.tns_topic)
        tns_from = args.tns
    if settings.bootstrap:
        kafka = KafkaConnection.from_settings(settings)
        check_reachable(kafka)
        asyncio.run(read_topics(settings, kafka, handlers))
        if not args.tns:
            tns_from = f"topic {settings.tns_topic}"
    paths = catalogue_paths(args.catalogue if args.catalogue is not None else settings.context_catalogues)
    classifier = builtin_classifier(paths, settings.sherlock_cache_objects)
    context = inputs.stage(classifier).lookup(items)
    builtin = f"built-in classifier over {len(classifier.catalogue):,} sources in {len(paths)} file(s)" if classifier else "no catalogue"
    external = f"{len(inputs.external.rows)} external rows" if settings.bootstrap else "no external rows (no broker)"
    return context, (f"sherlock_classifications: {builtin}, {external}; crossmatch_tns and TNS watchlist_hits "
                     f"(wl_id {settings.tns_watchlist_id}): {len(inputs.tns)} TNS objects from {tns_from}")


async def read_topics(settings: Settings, kafka: KafkaConnection, handlers: dict) -> None:
    await ensure_topics(kafka, core_topics(settings))
    await CompactedReader(kafka, handlers, client_id="alertflow-filter-test").read_all()
