"""Reading a user's upload (a watchlist, a MOC) from disk without ever holding more than its limit."""
from __future__ import annotations

import os
from pathlib import Path


def read_bounded(path: str | Path, max_bytes: int, what: str, error: type[ValueError]) -> bytes:
    """The file's bytes; `error` with one line if it is over `max_bytes` (checked before reading) or unreadable."""
    try:
        size = os.stat(path).st_size
        if size > max_bytes:
            raise error(f"{path}: {size:,} bytes; {what} may hold at most {max_bytes:,}")
        with open(path, "rb") as f:
            return f.read(max_bytes + 1)  # a file that grew (or a pipe) still stops past the limit
    except OSError as e:
        raise error(f"{path}: cannot read it ({e.strerror})") from None
