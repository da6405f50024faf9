"""`run.py annotator add ...` (operators register an annotator for a user) and `run.py annotate ...`
(a user annotates an object under their annotator topic), as the HTTP API does it."""
from __future__ import annotations

import argparse
import asyncio
import sys
import time

from agents.kafka.admin import ensure_topics
from agents.kafka.connection import KafkaConnection
from agents.kafka.reachable import check_reachable
from agents.kafka.topology import core_topics
from agents.store.annotations import accept, read_annotators, register, store
from agents.store.filters import ProducerSend
from pipeline.context.annotations import InvalidAnnotation
from pipeline.context.annotators import InvalidAnnotator, create
from pipeline.settings import Settings
from .needs_broker import lacks_broker


def run_annotations_command(args: argparse.Namespace, settings: Settings) -> int:
    if lacks_broker(args.command, settings):
        return 2
    try:
        return asyncio.run(_annotator_add(args, settings) if args.command == "annotator" else _annotate(args, settings))
    except (InvalidAnnotation, InvalidAnnotator) as error:
        print(f"refused: {error}", file=sys.stderr)
        return 2


async def _connect(settings: Settings) -> KafkaConnection:
    kafka = KafkaConnection.from_settings(settings)
    check_reachable(kafka)
    await ensure_topics(kafka, core_topics(settings))
    return kafka


async def _annotator_add(args: argparse.Namespace, settings: Settings) -> int:
    annotator = create(args.topic, args.user, args.description, args.url, public=args.public)
    kafka = await _connect(settings)
    book = await read_annotators(settings, kafka)
    async with ProducerSend(kafka, settings.max_message_bytes) as send:
        await register(send, settings, book, annotator)
    print(f"annotator {annotator.topic} registered for user {annotator.user} ({'public' if annotator.public else 'private'})")
    return 0


async def _annotate(args: argparse.Namespace, settings: Settings) -> int:
    fields = {"topic": args.topic, "objectId": args.object, "classification": args.classification, "version": args.version,
              "explanation": args.explanation, "classdict": args.classdict, "url": args.url}
    kafka = await _connect(settings)
    annotation = accept(await read_annotators(settings, kafka), args.user, fields, time.time())
    async with ProducerSend(kafka, settings.max_message_bytes) as send:
        await store(send, settings, [annotation])
    print(f"annotated object {annotation.diaObjectId} under {annotation.topic} at {annotation.timestamp} UTC")
    return 0
