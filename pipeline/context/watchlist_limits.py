"""Limits on a watchlist, in one place: Lasair's where Lasair has one (shared/lasair/context-tables.md §3).

The CLI, the HTTP API and the record model all check against these, so a list that one entry
point accepts the others accept too.
"""
from __future__ import annotations

MAX_SOURCES = 100_000  # Lasair's WATCHLIST_MAX: sources (cones) per watchlist
MAX_RADIUS_ARCSEC = 1800.0  # Lasair's documented maximum cone radius, per source and default
MAX_NAME_CHARS = 32  # a source (cone) name, after non-ASCII and control characters are removed
MAX_FILE_BYTES = 16 * 1024 * 1024  # an uploaded file; 100,000 lines of ~80 bytes fit with room to spare
MAX_TITLE_CHARS = 256  # the watchlist's own name (Lasair: watchlists.name VARCHAR(256))
MAX_DESCRIPTION_CHARS = 4096  # Lasair: watchlists.description TEXT(4096)
DEFAULT_RADIUS_ARCSEC = 5.0  # Lasair requires one and has no default; 5" is a few times a Rubin position's error
