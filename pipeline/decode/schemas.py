"""The Rubin alert schemas bundled in `schemas/rubin/`, addressed by Confluent schema id.

Rubin's registry id is major*100 + minor (v11.0 = 1100, v9.0 = 900). A message names its
schema by id, and bytes of one version do not decode with another, so the id decides.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import fastavro

from schemas import RUBIN

LATEST_SCHEMA_ID = 1100


def _version_dir(schema_id: int, root: Path) -> Path:
    return root / f"v{schema_id // 100}_{schema_id % 100}"


@lru_cache(maxsize=None)
def parsed_schema(schema_id: int, root: Path = RUBIN) -> dict[str, Any]:
    """The parsed alert schema for `schema_id`; KeyError if it is not bundled."""
    directory = _version_dir(schema_id, root)
    alert_files = list(directory.glob("lsst.*.alert.avsc"))
    if not alert_files:
        raise KeyError(schema_id)
    # load_schema resolves the named sub-records from files beside the alert schema.
    return fastavro.schema.load_schema(str(alert_files[0]))


def parse_schema_json(text: str) -> dict[str, Any]:
    """Parse a schema fetched from a registry (all named types inline)."""
    return fastavro.parse_schema(json.loads(text))
