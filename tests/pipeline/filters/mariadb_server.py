"""A private MariaDB server for differential tests: Lasair's database, as the oracle of filter semantics.

The server is Debian's `mariadbd` (MariaDB 10.11, as Lasair runs), started on a temporary data
directory with a private unix socket and no TCP, with MariaDB's defaults that matter to filters:
sql_mode, div_precision_increment 4, and utf8mb4 with its default collation utf8mb4_general_ci.
The `objects` table has Lasair's column types (FLOAT columns may be widened to DOUBLE, to tell
single-precision effects apart from semantic ones).
"""
from __future__ import annotations

import math
import os
import shutil
import subprocess
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pymysql

from pipeline.features.columns import COLUMNS, Column

_SQL_TYPES = {"long": "BIGINT", "int": "INT", "double": "DOUBLE", "float": "FLOAT", "string": "VARCHAR(80)",
              "timestamp": "DATETIME", "json": "JSON"}
_START_SECONDS = 60.0


class MariaDBUnavailable(RuntimeError):
    """mariadbd is not installed (or would not start): the reason, in one line."""


class MariaDB:
    """One server process; `stop()` ends it and removes its files."""

    def __init__(self, workdir: Path) -> None:
        binaries = {name: shutil.which(name) for name in ("mariadbd", "mariadb-install-db")}
        if not binaries["mariadbd"] and Path("/usr/sbin/mariadbd").exists():
            binaries["mariadbd"] = "/usr/sbin/mariadbd"
        missing = [name for name, path in binaries.items() if not path]
        if missing:
            raise MariaDBUnavailable(f"{', '.join(missing)} not found (apt-get install mariadb-server)")
        self.workdir = workdir
        self.socket = str(workdir / "mysqld.sock")
        datadir = workdir / "data"
        install = subprocess.run(
            [binaries["mariadb-install-db"], "--no-defaults", f"--datadir={datadir}", "--user=root",
             "--auth-root-authentication-method=normal", "--skip-test-db"],
            capture_output=True, text=True, check=False)
        if install.returncode != 0:
            raise MariaDBUnavailable(f"mariadb-install-db failed: {install.stderr.strip()[-300:]}")
        self.log = workdir / "error.log"
        self.process = subprocess.Popen(
            [binaries["mariadbd"], "--no-defaults", f"--datadir={datadir}", f"--socket={self.socket}",
             "--skip-networking", "--user=root", f"--pid-file={workdir / 'mysqld.pid'}", f"--log-error={self.log}",
             "--character-set-server=utf8mb4", "--collation-server=utf8mb4_general_ci",
             "--innodb-buffer-pool-size=16M", "--skip-log-bin", "--skip-name-resolve"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.connection = self._connect()
        self.execute("CREATE DATABASE lasair")
        self.execute("USE lasair")

    def _connect(self) -> pymysql.Connection:
        """Wait for the server to accept connections (or to die), up to a minute."""
        deadline = time.monotonic() + _START_SECONDS
        while True:
            if self.process.poll() is not None:
                raise MariaDBUnavailable(f"mariadbd exited: {self._log_tail()}")
            try:
                return pymysql.connect(unix_socket=self.socket, user="root", charset="utf8mb4", autocommit=True)
            except pymysql.err.OperationalError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise MariaDBUnavailable(f"mariadbd did not accept connections: {self._log_tail()}") from None
                time.sleep(0.1)

    def _log_tail(self) -> str:
        return self.log.read_text(errors="replace").strip()[-300:] if self.log.exists() else "no log"

    def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        with self.connection.cursor() as cursor:
            cursor.execute(sql, parameters)
            return list(cursor.fetchall())

    def load_objects(self, table: str, rows: Sequence[Mapping[str, Any]], widen_float: bool) -> None:
        """(Re)create `table` with Lasair's objects columns (plus `row_index`) holding `rows`."""
        self.load(table, COLUMNS, rows, widen_float)

    def load(self, table: str, columns: Sequence[Column], rows: Sequence[Mapping[str, Any]], widen_float: bool) -> None:
        """(Re)create `table` with these Lasair columns (plus `row_index`, the row's position) holding `rows`."""
        names = [c.name for c in columns]
        types = {c.name: ("DOUBLE" if widen_float and c.sql_type == "float" else _SQL_TYPES[c.sql_type]) for c in columns}
        ddl = ", ".join(f"`{name}` {types[name]}" for name in names)
        self.execute(f"DROP TABLE IF EXISTS {table}")
        self.execute(f"CREATE TABLE {table} (row_index INT PRIMARY KEY, {ddl}) ENGINE=MEMORY")
        insert = f"INSERT INTO {table} VALUES ({', '.join(['%s'] * (len(names) + 1))})"
        with self.connection.cursor() as cursor:
            cursor.executemany(insert, [[i, *(_db_value(row.get(n)) for n in names)] for i, row in enumerate(rows)])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.workdir, ignore_errors=True)


def _db_value(value: Any) -> Any:
    """NaN and infinities are NULL, as they are to filters (MariaDB has no NaN)."""
    return None if isinstance(value, float) and not math.isfinite(value) else value


def start_or_skip(workdir: Path, skip: Any, fail: Any) -> MariaDB:
    """Start a server; without one, CI fails (it must install mariadb-server) and a developer skips."""
    try:
        return MariaDB(workdir)
    except MariaDBUnavailable as error:
        (fail if os.environ.get("CI") == "true" else skip)(f"MariaDB oracle unavailable: {error}")
        raise


def matching(server: MariaDB, table: str, where: str, indices: Iterable[int] | None = None) -> set[int]:
    """The row indices `where` selects in `table` (optionally among `indices` only)."""
    among = "" if indices is None else f" AND row_index IN ({', '.join(map(str, indices))})"
    return {i for (i,) in server.execute(f"SELECT row_index FROM {table} objects WHERE ({where}){among}")}
