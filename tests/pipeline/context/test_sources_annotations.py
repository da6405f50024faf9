"""The annotations context source, and what an arriving annotation is evaluated on."""
from __future__ import annotations

import orjson

from pipeline.context.annotations import AnnotationBook, parse_submission
from pipeline.context.latest_objects import LatestObjects
from pipeline.context.sources_annotations import AnnotationFilters, AnnotationsSource, annotation_run, remember
from pipeline.context.stage import ContextStage
from pipeline.decode.avro_codec import bundled_codec
from pipeline.features.ingest import ingest
from pipeline.streams.filter_record import create
from pipeline.streams.filter_registry import FilterRegistry
from pipeline.synthetic.alerts import synthetic_messages

NOW = 1_780_000_000.0
NEEDLE = ('SELECT objects.diaObjectId FROM objects, annotations AS needle WHERE needle.topic = "needle" '
          'AND JSON_EXTRACT(needle.classdict, "$.SN") > 0.8')


def stored(book: AnnotationBook, object_id: int, topic: str, sn: float):
    annotation = parse_submission({"topic": topic, "objectId": object_id, "classification": "SN", "version": "1",
                                   "classdict": {"SN": sn}}, NOW)
    return book.apply(annotation.key, annotation.to_json())


def test_each_alert_gets_its_objects_latest_annotations() -> None:
    items = [ingest(m, bundled_codec) for m in synthetic_messages(3, 4)]
    book = AnnotationBook()
    first = items[0].row["diaObjectId"]
    stored(book, first, "needle", 0.5)
    stored(book, first, "needle", 0.9)  # the latest per (object, topic) replaces the earlier one
    stored(book, first, "alpha", 0.1)
    context = ContextStage([AnnotationsSource(book)]).lookup(items)
    assert [r["topic"] for r in context.rows("annotations", 0)] == ["alpha", "needle"]
    assert orjson.loads(context.rows("annotations", 0)[1]["classdict"]) == {"SN": 0.9}
    assert all(not context.rows("annotations", i) for i in (1, 2) if items[i].row["diaObjectId"] != first)


def test_an_arriving_annotation_runs_on_the_latest_row_with_only_itself_joined() -> None:
    items = [ingest(m, bundled_codec) for m in synthetic_messages(2, 5)]
    latest, book = LatestObjects(10), AnnotationBook()
    remember(latest, items)
    object_id = items[-1].row["diaObjectId"]
    stored(book, object_id, "alpha", 0.99)
    stage = ContextStage([AnnotationsSource(book)])
    arrived = stored(book, object_id, "needle", 0.9)
    item, context = annotation_run(arrived, latest, stage)
    assert item.row == items[-1].row  # the alert's ids are kept beside the row, not in it
    assert (item.alert.diaObjectId, item.alert.diaSourceId, item.alert.schema_id) == (
        object_id, items[-1].alert.diaSourceId, items[-1].alert.schema_id)
    assert [r["topic"] for r in context.rows("annotations", 0)] == ["needle"]
    assert annotation_run(stored(book, 12345, "needle", 0.9), latest, stage) is None  # an object not held runs nothing


def test_annotation_runs_see_only_filters_joining_annotations() -> None:
    registry = FilterRegistry()
    for number, sql in enumerate([NEEDLE, "SELECT objects.diaObjectId FROM objects", NEEDLE]):
        record = create("t_", "1", f"f{number}", sql, "plain")
        registry.apply(record.id.encode(), record.to_json())
    joined = AnnotationFilters(registry)
    first = joined.filter_set()
    assert len(joined.active()) == 2 and set(first.filters) == set(joined.active())
    assert joined.filter_set() is first  # kept while the registry is unchanged
    record = create("t_", "1", "f3", NEEDLE, "plain")
    registry.apply(record.id.encode(), record.to_json())
    assert len(joined.filter_set().filters) == 3
