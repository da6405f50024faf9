"""The worker's batch way (`ingest_batch`) gives what the per-message way (`ingest`) gives: the same
alerts, rows, lite parts, dead letters with the same reasons, and columns equal to the rows'."""
from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest

from pipeline.decode.avro_codec import bundled_codec
from pipeline.decode.wire import DecodeError, encode_wire
from pipeline.features import micro_batch
from pipeline.features.ingest import ingest
from pipeline.features.micro_batch import ROW_COLUMNS, ingest_batch
from pipeline.filters.batch import ColumnBatch
from pipeline.streams import filter_record
from pipeline.streams.fanout import find_matches, stream_records
from pipeline.streams.filter_registry import FilterRegistry
from pipeline.synthetic.alerts import synthetic_alerts, synthetic_messages


def same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def outcome(message: bytes) -> Any:
    try:
        return ingest(message, bundled_codec)
    except DecodeError as error:
        return error


def without_object(seed: int) -> bytes:
    record = next(synthetic_alerts(1, seed))
    record["diaObject"] = None
    return encode_wire(record, 1100)


def nan_fluxes(seed: int) -> bytes:
    record = next(synthetic_alerts(1, seed))
    record["diaSource"]["psfFlux"] = math.nan
    record["diaSource"]["midpointMjdTai"] = math.nan
    for source in record.get("prvDiaSources") or []:
        source["psfFlux"] = None
    return encode_wire(record, 1100)


def batch_messages() -> list[bytes]:
    good = list(synthetic_messages(300, seed=7))
    return [*good[:100], b"", good[100][:40], b"\x01" + good[101][1:], b"\x00\x00\x00\x04\xd2" + good[102][5:],
            good[103] + b"\x00", without_object(1), nan_fluxes(2), *good[104:]]


def test_the_batch_way_gives_what_the_per_message_way_gives() -> None:
    messages = batch_messages()
    batch = ingest_batch(messages, bundled_codec)
    expected = [outcome(m) for m in messages]
    assert [i for i, _ in batch.bad] == [i for i, e in enumerate(expected) if isinstance(e, DecodeError)]
    assert [e.reason for _, e in batch.bad] == [e.reason for e in expected if isinstance(e, DecodeError)]
    assert batch.positions == [i for i, e in enumerate(expected) if not isinstance(e, DecodeError)]
    assert any(item.row is None for item in batch.items), "the alert without a diaObject has no row"
    for position, item in zip(batch.positions, batch.items):
        reference = expected[position]
        assert same(item.row, reference.row), position
        alert, full = item.alert, reference.alert
        assert (alert.diaSourceId, alert.diaObjectId, alert.schema_id) == (full.diaSourceId, full.diaObjectId, full.schema_id)
        assert same(alert.object_summary, full.object_summary)
        assert same(alert.lite(), full.lite())
        assert same(alert.diaSourcesList, full.diaSourcesList) and same(alert.diaObject, full.diaObject)


def test_columns_are_the_rows_columns() -> None:
    batch = ingest_batch(batch_messages(), bundled_codec)
    present = [k for k, item in enumerate(batch.items) if item.row is not None]
    reference = ColumnBatch.from_rows([batch.items[k].row for k in present], ROW_COLUMNS)
    assert batch.columns is not None
    for name in ROW_COLUMNS:
        values, nulls = batch.columns[name]
        assert np.array_equal(nulls[present], reference.nulls(name)), name
        kept = ~reference.nulls(name)
        assert np.array_equal(values[present][kept], reference.values(name)[kept]), name


def test_a_feature_bug_dead_letters_only_the_alerts_that_raise_it(monkeypatch: pytest.MonkeyPatch) -> None:
    messages = list(synthetic_messages(20, seed=3))
    culprit = ingest(messages[5], bundled_codec).alert.diaSourceId
    real = micro_batch.objects_columns

    def fragile(history):  # noqa: ANN001, ANN202 - a stand-in with a bug for one alert
        ids = history.sources["diaSourceId"][0]
        if culprit in ids.tolist():
            raise ZeroDivisionError("a feature bug")
        return real(history)

    def fragile_row(alert):  # noqa: ANN001, ANN202
        if alert.diaSourceId == culprit:
            raise DecodeError("features-error", "a feature bug")
        return original_row(alert)

    original_row = micro_batch.with_features
    monkeypatch.setattr(micro_batch, "objects_columns", fragile)
    monkeypatch.setattr(micro_batch, "with_features", fragile_row)
    batch = ingest_batch(messages, bundled_codec)
    assert [(i, e.reason) for i, e in batch.bad] == [(5, "features-error")]
    assert batch.positions == [i for i in range(20) if i != 5]
    assert all(same(item.row, ingest(messages[i], bundled_codec).row) for i, item in zip(batch.positions, batch.items))


def test_an_alert_is_decoded_whole_only_when_asked() -> None:
    batch = ingest_batch(list(synthetic_messages(5, seed=4)), bundled_codec)
    alert = batch.items[0].alert
    alert.lite()
    assert alert._full is None  # noqa: SLF001 - the point of the test
    assert alert.diaObject is not None and alert._full is not None  # noqa: SLF001


@pytest.mark.parametrize("mode", ["plain", "lite", "full"])
def test_records_are_the_bytes_of_the_per_message_way(mode: str) -> None:
    messages = list(synthetic_messages(300, seed=5))
    registry = FilterRegistry()
    record = filter_record.create("t_", "1", "bright", "SELECT objects.diaObjectId, objects.ra FROM objects WHERE objects.nDiaSources > 3", mode)
    registry.apply(record.id.encode(), record.to_json())
    batch = ingest_batch(messages, bundled_codec)
    batch_records = list(stream_records(find_matches(registry, batch.items, columns=batch.columns), batch.items, "2026-12-01 00:00:00"))
    one_by_one = [ingest(m, bundled_codec) for m in messages]
    reference = list(stream_records(find_matches(registry, one_by_one), one_by_one, "2026-12-01 00:00:00"))
    assert len(batch_records) == len(reference) > 20
    assert [(r.key, r.value, r.headers) for r in batch_records] == [(r.key, r.value, r.headers) for r in reference]


def test_each_thread_reads_with_its_own_reader() -> None:
    """A reader keeps buffers between batches, and the web's filter previews run in threads."""
    codec = bundled_codec(1100)
    with ThreadPoolExecutor(2) as pool:
        readers = [pool.submit(lambda: micro_batch.columnar_reader(codec)).result() for _ in range(2)]
        other = pool.submit(lambda: micro_batch.columnar_reader(codec)).result()
    here = micro_batch.columnar_reader(codec)
    assert here is micro_batch.columnar_reader(codec), "one reader per thread, kept"
    assert all(reader is not here for reader in [*readers, other])
