"""Rows from an external classifier's compacted topic: validation, tombstones, and that they win."""
from __future__ import annotations

import logging

import orjson
import pytest

from pipeline.context.sherlock_external import ExternalRows


def test_rows_tombstones_and_choice(caplog: pytest.LogCaptureFixture) -> None:
    book = ExternalRows()
    builtin = {"diaObjectId": 7, "classification": "ORPHAN"}
    assert book.choose(7, builtin) is builtin
    with caplog.at_level(logging.WARNING):
        book.apply(b"7", orjson.dumps({"classification": "SN", "separationArcsec": 2, "z": 0.1, "lite_extra": "x"}))
        book.apply(b"8", orjson.dumps({"classification": "SN", "lite_extra": "y"}))
    row = book.choose(7, builtin)
    assert (row["diaObjectId"], row["classification"], row["separationArcsec"], row["z"], row["Mag"]) == (7, "SN", 2.0, 0.1, None)
    assert "lite_extra" not in row
    assert [r.getMessage() for r in caplog.records] == ["external sherlock rows: unknown column 'lite_extra' dropped"]
    book.apply(b"7", None)
    assert book.choose(7, builtin) is builtin and book.row_for(8) is not None


@pytest.mark.parametrize("key, value, message", [
    (b"x", b"{}", "key 'x' is not a diaObjectId"),
    (b"7", b"{not json", "diaObjectId 7: value is not JSON"),
    (b"7", b"[1]", "diaObjectId 7: value is not a JSON object"),
    (b"7", orjson.dumps({"classification": 3}), "diaObjectId 7: column classification is int 3, expected string"),
    (b"7", orjson.dumps({"classificationReliability": 1.5}), "diaObjectId 7: column classificationReliability is float 1.5, expected int"),
    (b"7", orjson.dumps({"z": True}), "diaObjectId 7: column z is bool True, expected float"),
    (b"7", orjson.dumps({"diaObjectId": 8}), "diaObjectId 7: the value's diaObjectId is 8"),
])
def test_wrong_rows_are_refused_whole(caplog: pytest.LogCaptureFixture, key: bytes, value: bytes, message: str) -> None:
    book = ExternalRows()
    book.apply(b"7", orjson.dumps({"classification": "NT"}))
    with caplog.at_level(logging.WARNING):
        book.apply(key, value)
    assert book.row_for(7)["classification"] == "NT" and book.refused == 1
    assert len(caplog.records) == 1 and caplog.records[0].getMessage().startswith(f"external sherlock row refused: {message}")
