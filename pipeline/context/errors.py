"""The one-line errors of operator-supplied context files, in a module of their own so that the
command line can catch them without importing the catalogue's and TNS's numerical libraries."""
from __future__ import annotations


class CatalogueError(ValueError):
    """A catalogue file that cannot be used; the message is one line: file, position, cause."""


class TnsError(ValueError):
    """A TNS file that cannot be read; the message is one line: file, position, cause."""
