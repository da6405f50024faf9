"""An arriving annotation through the batch core (fake producer): the filters joining annotations run
over the object's latest row, in their mode, with the alert's headers, counted against their quota."""
from __future__ import annotations

import asyncio

import orjson

from pipeline.context.annotations import AnnotationBook, parse_submission
from pipeline.context.latest_objects import LatestObjects
from pipeline.context.sources_annotations import AnnotationFilters, AnnotationsSource, annotation_run
from pipeline.decode.avro_codec import bundled_codec
from pipeline.features.ingest import ingest
from pipeline.streams import payloads
from pipeline.streams.filter_record import create
from pipeline.synthetic.alerts import synthetic_messages
from tests.agents.worker.test_batch import NOW, events_of, harness, plain

NEEDLE = ('SELECT objects.diaObjectId, JSON_EXTRACT(needle.classdict, "$.SN") AS snprob FROM objects, annotations AS needle '
          'WHERE objects.diaObjectId=needle.diaObjectId AND needle.topic="needle" AND JSON_EXTRACT(needle.classdict, "$.SN") > 0.8')


def arrive(book: AnnotationBook, object_id: int, sn: float, topic: str = "needle"):
    annotation = parse_submission({"topic": topic, "objectId": object_id, "classification": "SN", "version": "1",
                                   "classdict": {"SN": sn}}, NOW)
    return book.apply(annotation.key, annotation.to_json())


def test_annotation_runs_produce_like_alerts_and_count_against_quotas() -> None:
    lite = create("lasair_", "7", "needle lite", NEEDLE, "lite")
    tiny = create("lasair_", "7", "needle tiny", NEEDLE, "plain", quota_bytes=1)
    h = harness(lite, tiny, plain(), auto=True)
    book, latest = AnnotationBook(), LatestObjects(10)
    h.batches.latest = latest
    h.batches.context.sources.append(AnnotationsSource(book))

    async def go() -> list[int]:
        messages = list(synthetic_messages(2, seed=6))
        await (await h.batches.process(events_of(messages)))[0]
        sent_for_alerts = len(h.producer.sent)
        object_id = ingest(messages[-1], bundled_codec).row["diaObjectId"]
        produced = []
        for sn, topic in ((0.9, "needle"), (0.5, "needle"), (0.99, "other")):
            run = annotation_run(arrive(book, object_id, sn, topic), latest, h.batches.context)
            produced.append(await h.batches.run_for_object(*run, AnnotationFilters(h.batches.registry)))
        assert len(h.producer.sent) == sent_for_alerts + 1
        return produced

    assert asyncio.run(go()) == [1, 0, 0]  # SN 0.5 and another topic match nothing; the filter without annotations never runs
    topic, key, value, headers = h.producer.sent[-1]
    record = orjson.loads(value)
    assert topic == lite.topic and record["snprob"] == "0.9" and record["alert"] == {"diaSourcesList": [], "diaForcedSourcesList": []}
    assert key == str(record["diaObjectId"]).encode()
    assert dict(headers)[payloads.FILTER_ID] == lite.id.encode() and payloads.DIA_SOURCE_ID in dict(headers)
    assert h.usage.totals()[tiny.id].rejected_records == 1 and not h.crashes  # over its quota: refused, counted
