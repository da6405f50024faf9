"""The worker's HTTP API for watchlists and areas, driven as a user's script would: a file uploaded
as multipart/form-data or sent as JSON text, read back, changed, deleted; bad files refused with
one line. What the worker matches against follows within seconds (polled, never slept for). Every
request carries a user's API token (users written to the users topic as `run.py user` writes them):
without one every write is 401; others' private records are 404 and others' public ones 403 to change."""
from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from agents.dev.worker_process import WorkerProcess
from agents.kafka.admin import ensure_topics, read_records
from agents.kafka.topology import core_topics
from pipeline.settings import Settings
from tests.agents.worker.test_filter_api import add_user, with_users_topic
from tests.conftest import connection

pytestmark = pytest.mark.integration

CSV = b"ra, dec, name, radius\n10.0, 20.0, first, 3\n12:00:00, -30:00:00, second,\n"


ADMIN, OWNER, OTHER = "1", "7", "8"
TOKENS: dict[str, str] = {}  # user id -> token, made by the test for its users topic


def call(worker: WorkerProcess, method: str, path: str, body: Any = None, form: dict[str, bytes] | None = None,
         user: str | None = ADMIN) -> tuple[int, Any]:
    """Status and JSON answer of a request by `user` (their token; None: no token)."""
    headers, data = {"Content-Type": "application/json"}, None if body is None else json.dumps(body).encode()
    if form is not None:
        boundary = uuid.uuid4().hex
        parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"'.encode()
                 + (b'; filename="upload.txt"' if k == "file" else b"") + b"\r\n\r\n" + v + b"\r\n" for k, v in form.items()]
        data, headers = b"".join(parts) + f"--{boundary}--\r\n".encode(), {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    if user is not None:
        headers["Authorization"] = f"Token {TOKENS[user]}"
    url = f"http://{worker.settings.web_host}:{worker.settings.web_port}{path}"
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data, method=method, headers=headers), timeout=30) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def until(worker: WorkerProcess, check, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while not check(index := worker.get("/watchlists-index")[1]):
        assert time.monotonic() < deadline, index
        time.sleep(0.2)
    return index


def test_watchlists_and_areas_over_http(settings: Settings, tmp_path: Path) -> None:
    tag = uuid.uuid4().hex[:8]
    settings = with_users_topic(replace(settings, watchlist_topic=f"watchlists-{tag}", area_topic=f"areas-{tag}"))
    asyncio.run(ensure_topics(connection(settings), core_topics(settings)))
    TOKENS.update({user: add_user(settings, int(user), admin=user == ADMIN) for user in (ADMIN, OWNER, OTHER)})
    worker = WorkerProcess.with_free_port(settings, tmp_path / "worker.log").start()
    try:
        worker.wait_ready()
        status, made = call(worker, "POST", "/watchlists", form={"file": CSV, "name": b"mine", "radius": b"4", "public": b"yes", "user": b"7"})
        assert status == 201, made
        assert {k: made[k] for k in ("id", "owner", "name", "radius", "public", "active", "n_sources")} == {
            "id": 1, "owner": "7", "name": "mine", "radius": 4.0, "public": True, "active": True, "n_sources": 2}
        assert call(worker, "GET", "/watchlists/1")[1]["sources"] == [{"ra": 10.0, "dec": 20.0, "name": "first", "radius": 3.0},
                                                                       {"ra": 180.0, "dec": -30.0, "name": "second", "radius": None}]
        until(worker, lambda index: index == {"watchlists": [1], "sources": 2, "areas": []})

        big = "".join(f"{i / 1000:.6f}, {i / 2000 - 40:.6f}, source number {i}\n" for i in range(100_000)).encode()  # ~4 MB
        status, made = call(worker, "POST", "/watchlists", form={"file": big, "name": b"big"})
        assert status == 201 and made["n_sources"] == 100_000, made
        assert call(worker, "DELETE", "/watchlists/2") == (200, {"deleted": 2})
        until(worker, lambda index: index == {"watchlists": [1], "sources": 2, "areas": []})

        assert call(worker, "POST", "/watchlists", {"name": "bad", "file": "10, 20, a\n10, 95, b\n"}) == (
            400, {"error": "line 2: declination 95 is outside -90..90 degrees"})
        assert call(worker, "POST", "/watchlists", {"name": "bad", "file": "10, 20, a\n", "radius": 5000}) == (
            400, {"error": "radius 5000 must be a number of arcsec over 0 and at most 1800"})
        assert call(worker, "POST", "/watchlists", {"name": "no file"}) == (
            400, {"error": "no file: send it as the `file` part (multipart) or the `file` text (JSON)"})
        assert call(worker, "POST", "/areas", {"name": "bad", "file": "3/1-5 junk"}) == (
            400, {"error": "not a valid ASCII MOC: No all data have been parsed!"})

        status, area = call(worker, "POST", "/areas", {"name": "field", "file": "5/10-20", "user": "7"})
        assert status == 201 and area["id"] == 1 and area["max_order"] == 5, area
        assert call(worker, "GET", "/areas/1")[1]["moc"].strip() == "4/3-4 5/10-11 20"  # the same cells, normalised
        assert [w["id"] for w in call(worker, "GET", "/watchlists")[1]] == [1]

        # without a token: every write is 401, reads show public records only
        writes = [("POST", "/watchlists", {"name": "x", "file": "10, 20, a\n"}), ("POST", "/areas", {"name": "x", "file": "5/10"}),
                  ("PUT", "/watchlists/1", {"name": "x"}), ("DELETE", "/watchlists/1", None), ("PUT", "/areas/1", {"name": "x"}),
                  ("DELETE", "/areas/1", None)]
        for method, path, body in writes:
            status, answer = call(worker, method, path, body, user=None)
            assert status == 401 and answer["error"].startswith("a valid API token is needed"), (method, path, answer)
        assert [w["id"] for w in call(worker, "GET", "/watchlists", user=None)[1]] == [1]
        assert call(worker, "GET", "/areas", user=None) == (200, [])
        assert call(worker, "GET", "/areas/1", user=None) == (404, {"error": "no area 1"})

        # a new record's owner is the token's user; only an admin may name another (a known user)
        assert call(worker, "POST", "/watchlists", {"name": "x", "file": "10, 20, a\n", "user": OWNER}, user=OTHER) == (
            400, {"error": "user: a new record's owner is the token's user; only an admin may name another"})
        assert call(worker, "POST", "/areas", {"name": "x", "file": "5/10", "user": "99"}) == (
            400, {"error": "user: '99' is not the id of a known user"})
        status, private = call(worker, "POST", "/watchlists", {"name": "private", "file": "50, 60, hidden\n"}, user=OTHER)
        assert status == 201 and (private["id"], private["owner"], private["public"]) == (3, OTHER, False), private

        # another user's private records are 404 (as if absent), their public ones readable but 403 to change
        for method, path in (("GET", "/watchlists/3"), ("PUT", "/watchlists/3"), ("DELETE", "/watchlists/3"),
                             ("GET", "/areas/1"), ("PUT", "/areas/1"), ("DELETE", "/areas/1")):
            kind, record_id = path.strip("/").split("/")
            assert call(worker, method, path, {"name": "x"} if method == "PUT" else None, user=OWNER if kind == "watchlists" else OTHER) == (
                404, {"error": f"no {kind[:-1]} {record_id}"}), (method, path)
        assert [w["id"] for w in call(worker, "GET", "/watchlists", user=OWNER)[1]] == [1]
        assert [w["id"] for w in call(worker, "GET", "/watchlists", user=OTHER)[1]] == [1, 3]
        assert call(worker, "GET", "/watchlists/1", user=OTHER)[0] == 200
        for method, body in (("PUT", {"name": "taken"}), ("DELETE", None)):
            assert call(worker, method, "/watchlists/1", body, user=OTHER) == (
                403, {"error": "watchlist 1 is not yours: only its owner or an admin may change it"}), method
        assert call(worker, "DELETE", "/watchlists/3", user=OTHER) == (200, {"deleted": 3})

        status, changed = call(worker, "PUT", "/watchlists/1", {"active": False, "name": "paused"}, user=OWNER)
        assert status == 200 and (changed["active"], changed["name"], changed["version"]) == (False, "paused", 1)
        until(worker, lambda index: index == {"watchlists": [], "sources": 0, "areas": [1]})
        assert call(worker, "PUT", "/watchlists/1", {"owner": "8"}) == (400, {"error": "fields that cannot be changed: owner"})

        assert call(worker, "DELETE", "/watchlists/1") == (200, {"deleted": 1})
        assert call(worker, "GET", "/watchlists/1") == (404, {"error": "no watchlist 1"})
        assert call(worker, "GET", "/areas/x") == (404, {"error": "no area x"})
        assert call(worker, "DELETE", "/areas/1") == (200, {"deleted": 1})
        until(worker, lambda index: index == {"watchlists": [], "sources": 0, "areas": []})
    finally:
        assert worker.stop() == 0, (tmp_path / "worker.log").read_text()[-3000:]
    # refused uploads sent nothing: the topic holds the two watchlists' chunks, headers and tombstones
    keys = [r.key for r in asyncio.run(read_records(connection(settings), settings.watchlist_topic, expected=100, timeout=3))]
    assert set(keys) <= {b"1", b"1/1/0", b"2", b"3", b"3/1/0"} | {f"2/1/{i}".encode() for i in range(20)}
