"""Annotations in the worker: the books it follows, POST /annotations, the Kafka intake, and the filters an
arriving annotation runs.

* Every worker follows the annotators and annotations compacted topics (whole, from the start) into
  an `AnnotatorBook` and an `AnnotationBook`; the annotations source joins the latter to each alert.
* POST /annotations (Lasair's fields; one object or {"annotations": [...]}) and the intake topic
  (one JSON object per message, with the owner's `user` id) store accepted annotations on the
  annotations topic. Over HTTP the submitter is the API token's user (`auth.viewer`; 401 without, and
  a `user` field is refused); over Kafka it is the message's `user`, trusted because the intake
  topic's ACLs decide who may write to it. Either way an annotation is accepted only if that user
  owns the (active) annotator topic. Refused intake messages are logged (one line each) and counted;
  nothing of them is stored.
* An annotation read from the topic after start-up runs the filters that join annotations over its
  object's latest objects row, if this worker processed an alert of that object recently
  (`LatestObjects`). With several workers, every worker holding the object runs them.
"""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import faust
from faust.web import Request, Response, View

from agents.store.annotations import NotAllowed, accept_all, store, submissions
from pipeline.context.annotations import Annotation, AnnotationBook, InvalidAnnotation
from pipeline.context.annotators import AnnotatorBook
from pipeline.context.latest_objects import LatestObjects
from pipeline.context.sources_annotations import AnnotationFilters, AnnotationsSource, annotation_run
from pipeline.settings import Settings
from pipeline.streams.filter_registry import FilterRegistry
from .auth import unauthorized, viewer

if TYPE_CHECKING:
    from agents.kafka.compacted import CompactedReader, Handler
    from .app import WorkerState
    from .batch import BatchProcessor

log = logging.getLogger("alertflow.annotations")


class AnnotationState:
    """What a worker holds for annotations, and its counters (shown by GET /annotations)."""

    def __init__(self, settings: Settings, registry: FilterRegistry) -> None:
        self.settings = settings
        self.annotators = AnnotatorBook()
        self.annotations = AnnotationBook()
        self.latest = LatestObjects(settings.latest_objects_max)
        self.filters = AnnotationFilters(registry)
        self.source = AnnotationsSource(self.annotations)
        self.arrived: asyncio.Queue[Annotation] = asyncio.Queue()
        self.counts = {"intake_accepted": 0, "intake_refused": 0, "runs": 0, "records": 0, "object_not_held": 0}
        self._live: asyncio.Event | None = None

    def handlers(self, reader: CompactedReader) -> dict[str, Handler]:
        """The compacted topics to follow; annotations read once `reader` is loaded run filters."""
        self._live = reader.loaded
        return {self.settings.annotator_topic: self.annotators.apply, self.settings.annotation_topic: self.apply}

    def apply(self, key: bytes | None, value: bytes | None) -> None:
        annotation = self.annotations.apply(key, value)
        if annotation is not None and self._live is not None and self._live.is_set():
            self.arrived.put_nowait(annotation)

    def summary(self) -> dict[str, Any]:
        return {"annotators": len(self.annotators), "annotations": len(self.annotations),
                "latest_objects": len(self.latest), **self.counts}


def register_annotations(app: faust.App, worker: WorkerState, state: AnnotationState, batches: BatchProcessor) -> None:
    settings = worker.settings

    async def send(topic: str, key: bytes, value: bytes | None, headers: Any) -> Any:
        return await app.producer.send_and_wait(topic, key, value, None, None, headers)

    @app.page("/annotations")
    class Annotations(View):
        async def get(self, request: Request) -> Response:
            return self.json(state.summary())

        async def post(self, request: Request) -> Response:
            await worker.reader.loaded.wait()  # never judge ownership on a partial book
            who = await viewer(worker, request)
            if who is None:
                return unauthorized(self)
            try:
                items, envelope = submissions(await request.read())
                if "user" in envelope:
                    raise InvalidAnnotation("user: the submitter is the API token's user; drop the field")
                accepted = accept_all(state.annotators, who.id, items, time.time())
            except NotAllowed as error:
                return self.json({"error": str(error)}, status=error.status)
            except InvalidAnnotation as error:
                return self.json({"error": str(error)}, status=400)
            await store(send, settings, accepted)
            stored = [{k: v for k, v in asdict(a).items() if k in ("diaObjectId", "topic", "timestamp")} for a in accepted]
            return self.json({"stored": stored}, status=201)

    intake = app.topic(settings.annotation_input_topic, value_serializer="raw", key_serializer="raw")

    @app.agent(intake, name="annotation-intake")
    async def annotation_intake(stream: faust.StreamT) -> None:
        async for value in stream:
            await worker.reader.loaded.wait()
            try:
                items, envelope = submissions(value or b"")
                accepted = accept_all(state.annotators, envelope.pop("user", None), items, time.time())
            except InvalidAnnotation as error:
                state.counts["intake_refused"] += 1
                log.warning("annotation message on %s refused: %s", settings.annotation_input_topic, error)
                continue
            await store(send, settings, accepted)
            state.counts["intake_accepted"] += len(accepted)

    @app.task
    async def run_arrived_annotations() -> None:
        while True:
            annotation = await state.arrived.get()
            run = annotation_run(annotation, state.latest, batches.context)
            if run is None:
                state.counts["object_not_held"] += 1
                continue
            state.counts["records"] += await batches.run_for_object(*run, state.filters)
            state.counts["runs"] += 1
