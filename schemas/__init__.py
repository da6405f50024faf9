"""Schemas shipped with the package: Rubin's Avro alert schemas with sample alerts (`rubin/`), and
the JSON Schemas of the three output record shapes (`output/`).

Found through `importlib.resources`, so an installed copy (a wheel, the Docker image) needs no
checkout beside it.
"""
from __future__ import annotations

from importlib.resources import files
from pathlib import Path

ROOT = Path(str(files(__name__)))
RUBIN = ROOT / "rubin"
OUTPUT = ROOT / "output"
SAMPLES = RUBIN / "samples"
