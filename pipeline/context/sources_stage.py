"""A worker's context sources, built from settings: the built-in classifier's catalogue, and the rows
it follows on compacted topics (an external Sherlock's, the TNS set).

Every worker has these sources even with nothing configured: an external Sherlock may publish rows
at any time, `tns load` may fill the TNS set and annotators may annotate, so filters joining their
tables can always be saved (`tables.AVAILABLE_TABLES`); tables no source fills yet are refused at save time.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable

from pipeline.settings import Settings
from .catalogue import load_catalogues
from .sherlock import ContextClassifier, SherlockCache
from .sherlock_external import ExternalRows
from .sources_sherlock import SherlockSource
from .sources_tns import TnsSource
from .stage import ContextStage
from .tns import TnsSet

log = logging.getLogger("alertflow.context")


Handler = Callable[[bytes | None, bytes | None], None]


def catalogue_paths(text: str) -> list[str]:
    """ALERTFLOW_CONTEXT_CATALOGUES as a list of paths (comma-separated; blanks ignored)."""
    return [p.strip() for p in text.split(",") if p.strip()]


def builtin_classifier(paths: list[str], cache_objects: int) -> ContextClassifier | None:
    """The classifier over the operator's catalogue files (index built here, once); None without files.

    Raises CatalogueError (one line) for a file that cannot be used."""
    if not paths:
        return None
    started = time.perf_counter()
    catalogue = load_catalogues(paths)
    classifier = ContextClassifier(catalogue, cache=SherlockCache(cache_objects))
    log.info("context catalogue: %d sources from %d file(s), loaded and indexed in %.1f s",
             len(classifier.catalogue), len(paths), time.perf_counter() - started)
    return classifier


class ContextInputs:
    """What a worker's context sources read from compacted topics, and the stage built over them."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.external = ExternalRows()
        self.tns = TnsSet()

    def handlers(self) -> dict[str, Handler]:
        """For the worker's CompactedReader: one handler per context topic."""
        return {self.settings.sherlock_topic: self.external.apply, self.settings.tns_topic: self.tns.apply}

    def stage(self, classifier: ContextClassifier | None) -> ContextStage:
        """Sherlock first (it completes absMag), then TNS."""
        return ContextStage([
            SherlockSource(classifier, self.external),
            TnsSource(self.tns, self.settings.tns_watchlist_id, self.settings.tns_radius_arcsec),
        ])
