"""The MariaDB oracle, one server for the whole test session."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from .mariadb_server import MariaDB, start_or_skip


@pytest.fixture(scope="session")
def mariadb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MariaDB]:
    server = start_or_skip(tmp_path_factory.mktemp("mariadb"), pytest.skip, pytest.fail)
    yield server
    server.stop()
