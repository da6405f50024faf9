"""The worker's HTTP API for filters, end to end: one worker process on the embedded broker for
the whole module, driven over HTTP as a user's script (or Lasair's web site) would drive it.

The registry reaches the worker asynchronously (written to the compacted topic, read back by
the worker), so what the worker shows is polled for with a deadline, never slept for.

Every call carries a user's token (issue 15): a filter is created with its owner's, everything
else is done as an admin unless a test says otherwise; tests/agents/worker/test_auth_api.py
checks who may do what.
"""
from __future__ import annotations

import asyncio
import json
import math
import re
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from typing import Any, TypeVar

import jsonschema
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from agents.cli.replay import produce
from agents.dev.broker import EmbeddedBroker
from agents.dev.worker_process import WorkerProcess
from agents.kafka.admin import ensure_topics, topic_names
from agents.kafka.topology import core_topics
from agents.store.filters import ProducerSend
from pipeline.decode.schema_lookup import SchemaResolver
from pipeline.features.ingest import Ingested, ingest
from pipeline.settings import Settings
from pipeline.streams.dry_run import records_for
from pipeline.streams.filter_record import FilterRecord
from pipeline.streams.usage import Usage
from pipeline.synthetic.alerts import synthetic_messages
from pipeline.users.records import User
from pipeline.users.tokens import issue_token
from schemas import OUTPUT
from tests.conftest import connection, isolated_settings
from tests.kafka_clients import read_topic

pytestmark = pytest.mark.integration

T = TypeVar("T")
SQL = "SELECT objects.diaObjectId, objects.ra, objects.decl AS dec, nDiaSources FROM objects WHERE objects.nDiaSources >= 30 AND objects.latestR > 0.5"
TYPO_SQL = "SELECT ra FROM objects\nWHERE objects.nDiaSource >= 3"
PLAIN_SCHEMA = json.loads((OUTPUT / "plain.schema.json").read_text())
ZERO_USAGE = asdict(Usage())
ADMIN = "1"
RECORD_FIELDS = {"id", "user", "name", "sql", "mode", "topic", "description", "active", "public", "email",
                 "quota_bytes", "created", "updated", "version"}


def wanted(row: dict[str, Any]) -> bool:
    """SQL's condition written by hand, so the compiler is checked, not trusted."""
    return row["nDiaSources"] is not None and row["nDiaSources"] >= 30 and row["latestR"] is not None and row["latestR"] > 0.5


def eventually(probe: Callable[[], T | None], what: str, timeout: float = 20.0, every: float = 0.1) -> T:
    """Poll `probe` until it returns something truthy; fail naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what}: not within {timeout:.0f} s"
        time.sleep(every)


def add_user(settings: Settings, user_id: int, admin: bool = False) -> str:
    """A user with a fresh token on the users topic, written as `run.py user` writes it; the token."""
    user, token = issue_token(User(id=user_id, name=f"user {user_id}", admin=admin))

    async def go() -> None:
        async with ProducerSend(connection(settings), settings.max_message_bytes) as send:
            await send(settings.users_topic, user.key, user.to_json(), None)
    asyncio.run(go())
    return token


def with_users_topic(settings: Settings, **changes: Any) -> Settings:
    """`settings` with a users topic of their own (isolated_settings predates users)."""
    return replace(settings, users_topic=f"users-{uuid.uuid4().hex[:8]}", **changes)


@dataclass
class Api:
    settings: Settings
    worker: WorkerProcess
    replayed: list[Ingested] = field(default_factory=list)
    ends: dict[int, int] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)  # user id -> token

    def token(self, user: str) -> str:
        """User `user`'s token, the user made (an admin if ADMIN) and accepted by this worker on first use."""
        if user not in self.tokens:
            self.tokens[user] = add_user(self.settings, int(user), admin=user == ADMIN)
            # a dry run without SQL is 401 until the worker knows the token, then 400 (nothing runs)
            eventually(lambda: self.call("POST", "/filters-dry-run", {}, user=user)[0] == 400, f"user {user}'s token accepted")
        return self.tokens[user]

    @property
    def base(self) -> str:
        return f"http://{self.settings.web_host}:{self.settings.web_port}"

    def call(self, method: str, path: str, body: Any = None, raw: bytes | None = None, user: str | None = ADMIN) -> tuple[int, Any]:
        status, _, answer = self.answer(method, path, body, raw, user)
        return status, answer

    def answer(self, method: str, path: str, body: Any = None, raw: bytes | None = None,
               user: str | None = ADMIN) -> tuple[int, Mapping[str, str], Any]:
        """Status, headers and JSON body, as `user` (None: without a token)."""
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        headers = {"Content-Type": "application/json"}
        if user is not None:
            headers["Authorization"] = f"Token {self.token(user)}"
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.headers, json.load(response)
        except urllib.error.HTTPError as error:
            return error.code, error.headers, json.loads(error.read())

    def listed(self, user: str | None = ADMIN) -> dict[str, dict[str, Any]]:
        status, body = self.call("GET", "/filters", user=user)
        assert status == 200, body
        return {f["id"]: f for f in body}

    def shown(self, filter_id: str, check: Callable[[dict[str, Any]], bool] = lambda f: True) -> dict[str, Any]:
        """GET /filters/{id} once the worker's registry has it in a state satisfying `check`."""
        def probe() -> dict[str, Any] | None:
            status, body = self.call("GET", f"/filters/{filter_id}")
            return body if status == 200 and check(body) else None
        return eventually(probe, f"filter {filter_id} in the worker's registry")

    def create(self, user: str, **fields: Any) -> dict[str, Any]:
        """A filter of `user`'s, created with their token."""
        status, body = self.call("POST", "/filters", fields, user=user)
        assert status == 201, body
        return body

    def replay(self, n: int, seed: int) -> list[Ingested]:
        messages = list(synthetic_messages(n, seed))
        resolver = SchemaResolver(self.settings.schema_dir, "")
        items = [ingest(m, resolver) for m in messages]
        ends = asyncio.run(produce(connection(self.settings), self.settings.alert_topic, messages, progress=False))
        for p, end in ends.items():
            self.ends[p] = max(self.ends.get(p, 0), end)
        self.replayed += items
        return items

    def caught_up(self) -> None:
        """The worker has committed everything replayed so far."""
        if self.ends:
            self.worker.wait_caught_up(self.settings.alert_topic, dict(self.ends), timeout=60)


def topics(settings: Settings) -> set[str]:
    return asyncio.run(topic_names(connection(settings)))


def describe(settings: Settings, topic: str) -> tuple[int, dict[str, str]]:
    """Partitions and explicit configs of a topic."""
    async def go() -> tuple[int, dict[str, str]]:
        admin = AIOKafkaAdminClient(**connection(settings).options())
        await admin.start()
        try:
            [meta] = await admin.describe_topics([topic])
            [response] = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
            [resource] = response.resources
            return len(meta["partitions"]), {entry[0]: entry[1] for entry in resource[4]}
        finally:
            await admin.close()
    return asyncio.run(go())


def stream_bytes(body: dict[str, Any], items: list[Ingested]) -> list[int]:
    """The sizes the worker's quota counts for the records this filter makes of `items`
    (the UTC stamp has a fixed length, so the sizes do not depend on when they were made)."""
    record = FilterRecord(**{k: v for k, v in body.items() if k in RECORD_FIELDS})
    return [r.size for r in records_for(record, items)]


@pytest.fixture(scope="module")
def api(broker: EmbeddedBroker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """One worker for the module (a group join costs seconds); names of the module's own."""
    folder = tmp_path_factory.mktemp("filter-api")
    settings = with_users_topic(isolated_settings(broker.bootstrap, folder), dry_runs_per_minute=1000)
    asyncio.run(ensure_topics(connection(settings), core_topics(settings)))
    log = folder / "worker.log"
    worker = WorkerProcess.with_free_port(settings, log).start()
    api = Api(worker.settings, worker)

    def web_up() -> bool:
        assert worker.alive(), log.read_text()[-3000:]
        try:
            return api.call("GET", "/filters", user=None)[0] == 200
        except OSError:
            return False

    try:
        eventually(web_up, "the worker's web server", timeout=60, every=0.2)
        yield api
    finally:
        status = worker.stop()
        assert status == 0, log.read_text()[-3000:]


def test_create_list_read_update_rename_delete(api: Api) -> None:
    prefix = api.settings.topic_prefix
    made = api.create(user="77", name="Crud test #1", sql=SQL, description="first")
    assert re.fullmatch(r"[0-9a-f]{12}", made["id"])
    assert made["version"] == 1 and made["topic"] == f"{prefix}77Crudtest1"
    assert (made["user"], made["name"], made["sql"], made["mode"], made["description"]) == ("77", "Crud test #1", SQL, "plain", "first")
    assert made["active"] is True and made["public"] is False and made["email"] is None
    assert made["quota_bytes"] == api.settings.default_quota_bytes == 100_000_000
    assert made["usage_today"] == ZERO_USAGE
    assert made["seeded_records"] == min(10, sum(wanted(i.row) for i in api.replayed))
    partitions, config = describe(api.settings, made["topic"])
    assert partitions == api.settings.partitions == 2
    assert config.get("retention.ms") == str(7 * 24 * 3600 * 1000)

    filter_id = made["id"]
    shown = api.shown(filter_id)
    expected = {k: v for k, v in made.items() if k != "seeded_records"}
    assert shown == expected
    assert api.listed()[filter_id] == expected

    status, body = api.call("GET", "/filters/no-such-id")
    assert (status, body) == (404, {"error": "no filter no-such-id"})

    # a rename moves the stream: new topic created, old one removed
    status, renamed = api.call("PUT", f"/filters/{filter_id}", {"name": "Crud renamed"})
    assert status == 200, renamed
    assert renamed["version"] == 2 and renamed["topic"] == f"{prefix}77Crudrenamed" and renamed["name"] == "Crud renamed"
    assert renamed["created"] == made["created"] and renamed["updated"] >= made["updated"]
    present = topics(api.settings)
    assert renamed["topic"] in present and made["topic"] not in present
    assert api.shown(filter_id, lambda f: f["version"] == 2)["topic"] == renamed["topic"]

    # a change that does not touch the stream keeps its topic
    status, described = api.call("PUT", f"/filters/{filter_id}", {"description": "second", "active": False})
    assert status == 200 and described["version"] == 3 and described["topic"] == renamed["topic"]
    assert described["seeded_records"] == 0
    after = api.shown(filter_id, lambda f: f["version"] == 3)
    assert (after["description"], after["active"], after["name"]) == ("second", False, "Crud renamed")

    status, body = api.call("DELETE", f"/filters/{filter_id}")
    assert (status, body) == (200, {"deleted": filter_id})
    assert renamed["topic"] not in topics(api.settings)
    eventually(lambda: filter_id not in api.listed(), "the tombstone reaching the worker")
    assert api.call("GET", f"/filters/{filter_id}")[0] == 404
    assert api.call("DELETE", f"/filters/{filter_id}")[0] == 404
    assert api.call("PUT", f"/filters/{filter_id}", {"description": "x"})[0] == 404


def test_bad_sql_is_refused_with_the_compilers_message_and_nothing_is_saved(api: Api) -> None:
    before = topics(api.settings)
    status, body = api.call("POST", "/filters", {"name": "typo filter", "sql": TYPO_SQL}, user="78")
    assert status == 400
    assert (body["line"], body["column"], body["cause"]) == (2, 7, "unknown column 'nDiaSource'")
    assert "nDiaSources" in body["suggestions"]
    assert body["error"].startswith("line 2, column 7: unknown column 'nDiaSource' (did you mean nDiaSources")

    status, body = api.call("POST", "/filters", {"name": "syntax filter", "sql": "SELECT ra FROM"}, user="78")
    assert status == 400 and isinstance(body["line"], int) and isinstance(body["column"], int) and body["cause"]

    # a bad edit of a saved filter leaves the saved version as it was
    good = api.create(user="78", name="kept as is", sql=SQL)
    api.shown(good["id"])
    status, body = api.call("PUT", f"/filters/{good['id']}", {"sql": TYPO_SQL, "name": "not renamed"})
    assert status == 400 and (body["line"], body["column"]) == (2, 7)

    # the registry is one partition: once a later filter is visible, any earlier write would be
    marker = api.create(user="78", name="marker after typo", sql=SQL)
    api.shown(marker["id"])
    listed = api.listed()
    assert not [f for f in listed.values() if f["name"] in ("typo filter", "syntax filter", "not renamed")]
    assert listed[good["id"]]["version"] == 1 and listed[good["id"]]["sql"] == SQL
    now = topics(api.settings)
    assert now - before == {good["topic"], marker["topic"]}
    prefix = api.settings.topic_prefix
    assert not {f"{prefix}78typofilter", f"{prefix}78syntaxfilter", f"{prefix}78notrenamed"} & now


def test_invalid_requests_are_refused(api: Api) -> None:
    before = topics(api.settings)
    refusals = [
        ({"name": "mail me", "sql": SQL, "mode": "email", "email": "not an address"},
         "email: 'not an address' is not a valid e-mail address"),
        ({"name": "mail me", "sql": SQL, "mode": "email"}, "e-mail address None is not valid"),
        ({"name": "colourful", "sql": SQL, "colour": "red", "owner": "x"}, "colour: unknown field"),
        ({"name": "versioned", "sql": SQL, "version": 5}, "version: unknown field"),
        ({"name": "csv please", "sql": SQL, "mode": "csv"}, "mode: must be one of plain, lite, full, email, got 'csv'"),
        ({"user": "7-9", "name": "bad user", "sql": SQL}, "user: the owner of a new filter is the user of the token"),
        ({"user": "79", "name": "no user", "sql": SQL}, "user: the owner of a new filter is the user of the token"),
        ({"name": "!!!", "sql": SQL}, "needs at least one letter or digit"),
        ({"name": "no quota", "sql": SQL, "quota_bytes": 0}, "quota_bytes: must be between 1 and 10,000,000,000, got 0"),
    ]
    for request, message in refusals:
        status, body = api.call("POST", "/filters", request, user="79")
        assert status == 400 and message in body["error"], (request, body)
    assert api.call("POST", "/filters", raw=b"{not json", user="79")[0] == 400
    status, body = api.call("POST", "/filters", [1, 2], user="79")
    assert (status, body) == (400, {"error": "the request body must be a JSON object, got a list"})

    # a valid e-mail filter is saved; it streams to no Kafka topic
    mail = api.create(user="79", name="mail me", sql=SQL, mode="email", email="astro@example.org")
    assert mail["mode"] == "email" and mail["email"] == "astro@example.org" and mail["seeded_records"] == 0
    api.shown(mail["id"])
    for changes, message in [({"user": "80"}, "user: the owner of a filter cannot change"),
                             ({"topic": "elsewhere", "version": 9}, "topic: unknown field"),
                             ({"email": "nope"}, "email: 'nope' is not a valid e-mail address"),
                             ({"mode": "sms"}, "mode: must be one of")]:
        status, body = api.call("PUT", f"/filters/{mail['id']}", changes)
        assert status == 400 and message in body["error"], (changes, body)

    marker = api.create(user="79", name="marker after refusals", sql=SQL)
    api.shown(marker["id"])
    listed = api.listed()
    assert sorted(f["name"] for f in listed.values() if f["user"] in ("79", "7-9", "")) == ["mail me", "marker after refusals"]
    assert listed[mail["id"]]["version"] == 1 and listed[mail["id"]]["email"] == "astro@example.org"
    assert topics(api.settings) - before == {marker["topic"]}


def test_dry_run_reports_the_match_rate_and_sample_records(api: Api) -> None:
    api.replay(200, seed=41)
    expected = [i for i in api.replayed if wanted(i.row)]
    assert 10 < len(expected) < len(api.replayed), "the test data must exercise both outcomes"
    by_object = {(i.alert.diaObjectId, i.row["nDiaSources"]): i for i in expected}

    status, body = api.call("POST", "/filters-dry-run", {"sql": SQL})
    assert status == 200, body
    assert body["alerts"] == len(api.replayed)
    assert body["matched"] == len(expected)
    assert body["match_rate"] == pytest.approx(len(expected) / len(api.replayed))
    assert len(body["records"]) == 10
    for record in body["records"]:
        jsonschema.validate(record, PLAIN_SCHEMA)
        assert set(record) == {"diaObjectId", "ra", "dec", "nDiaSources", "UTC"}
        item = by_object[(record["diaObjectId"], record["nDiaSources"])]
        assert (record["ra"], record["dec"]) == (item.row["ra"], item.row["decl"])

    status, body = api.call("POST", "/filters-dry-run", {"sql": SQL, "limit": 3, "mode": "lite"})
    assert status == 200 and body["matched"] == len(expected) and len(body["records"]) == 3
    assert all(set(r) == {"diaObjectId", "ra", "dec", "nDiaSources", "UTC", "alert"} for r in body["records"])
    status, body = api.call("POST", "/filters-dry-run", {"sql": SQL, "limit": 0})
    assert status == 200 and body["matched"] == len(expected) and body["records"] == []
    status, body = api.call("POST", "/filters-dry-run", {"sql": SQL, "limit": "ten"})
    assert status == 400 and body["field"] == "limit" and body["error"] == "limit: must be an integer, got a string"

    status, body = api.call("POST", "/filters-dry-run", {"sql": "SELECT diaObjectId FROM objects WHERE nDiaSources < 0"})
    assert status == 200 and (body["alerts"], body["matched"], body["match_rate"], body["records"]) == (len(api.replayed), 0, 0.0, [])

    status, body = api.call("POST", "/filters-dry-run", {"sql": TYPO_SQL})
    assert status == 400 and (body["line"], body["column"]) == (2, 7) and "nDiaSources" in body["suggestions"]
    # a dry run saves nothing
    assert not [f for f in api.listed().values() if f["name"] == "dry run"]


def test_usage_today_is_visible_per_filter(api: Api) -> None:
    api.caught_up()  # alerts replayed earlier must not reach the filters made here
    everything = api.create(user="81", name="usage everything", sql="SELECT diaObjectId, nDiaSources FROM objects WHERE nDiaSources >= 1")
    quota = 3000
    capped = api.create(user="81", name="usage capped", sql="SELECT diaObjectId, ra, decl FROM objects", quota_bytes=quota)
    assert capped["quota_bytes"] == quota
    for made in (everything, capped):
        assert api.shown(made["id"])["usage_today"] == ZERO_USAGE

    started = time.time()
    items = api.replay(150, seed=42)
    api.caught_up()
    sizes = stream_bytes(everything, items)
    assert len(sizes) == sum(i.row["nDiaSources"] >= 1 for i in items) > 100

    usage = api.shown(everything["id"], lambda f: f["usage_today"]["matches"] >= len(sizes))["usage_today"]
    assert {k: v for k, v in usage.items() if k != "last_record"} == {
        "matches": len(sizes), "records": len(sizes), "bytes": sum(sizes),
        "rejected_records": 0, "rejected_bytes": 0, "too_large": 0}
    assert started - 1 <= usage["last_record"] <= time.time() + 1

    capped_sizes = stream_bytes(capped, items)
    assert len(capped_sizes) == 150 and sum(capped_sizes) > quota
    cap = api.shown(capped["id"], lambda f: f["usage_today"]["matches"] >= 150)["usage_today"]
    assert cap["matches"] == 150 and cap["records"] + cap["rejected_records"] == 150
    assert cap["bytes"] + cap["rejected_bytes"] == sum(capped_sizes)
    assert 0 < cap["records"] < 150 and cap["too_large"] == 0
    assert quota - max(capped_sizes) < cap["bytes"] <= quota, "stops at the quota, not before"
    assert api.listed()[capped["id"]]["usage_today"] == cap

    # what was counted is what is on the topic (plus the records that seeded it)
    records = read_topic(api.settings.bootstrap, capped["topic"], f"usage-{uuid.uuid4().hex[:6]}",
                         expected=cap["records"] + capped["seeded_records"], quiet=1.0)
    assert len(records) == cap["records"] + capped["seeded_records"]


def test_dry_runs_past_the_pool_and_its_queue_get_429_with_retry_after(api: Api) -> None:
    if len(api.replayed) < 200:
        api.replay(200, seed=43)
    places = api.settings.dry_run_concurrency + api.settings.dry_run_queue
    # spread over users, each asking for no more than its share of the pool (half), so the pool as a whole fills
    users = [str(90 + i) for i in range(math.ceil((places + 6) / (places // 2)))]
    for user in users:
        api.token(user)
    with ThreadPoolExecutor(places + 6) as threads:
        answers = list(threads.map(lambda i: api.answer("POST", "/filters-dry-run", {"sql": SQL, "limit": 1}, user=users[i % len(users)]),
                                   range(places + 6)))
    refused = [(headers, body) for status, headers, body in answers if status == 429]
    done = [body for status, _, body in answers if status == 200]
    assert len(refused) + len(done) == len(answers), [a[0] for a in answers]
    assert len(done) >= places and refused, f"{len(done)} answered, {len(refused)} refused"
    for headers, body in refused:
        wait = int(headers["Retry-After"])
        assert wait >= 1 and body == {"error": f"too many dry runs and back-fills at once; try again in {wait} s", "retry_after": wait}
    assert len({(b["alerts"], b["matched"]) for b in done}) == 1, "every admitted run saw the same alerts"
    status, body = api.call("POST", "/filters-dry-run", {"sql": SQL, "limit": 1})
    assert status == 200 and body["matched"] == done[0]["matched"], "places are given back"
    status, body = api.call("POST", "/filters-dry-run", {"sql": SQL, "limit": 101})
    assert status == 400 and body["error"] == "limit: must be between 0 and 100, got 101"


def test_lasairs_three_part_form_is_built_as_lasair_builds_it(api: Api) -> None:
    made = api.create(user="91", name="sn hosts", selected="objects.diaObjectId, sherlock_classifications.classification AS class",
                      tables="objects, sherlock_classifications", conditions="sherlock_classifications.classification IN ('SN','NT')")
    assert made["sql"] == ("SELECT objects.diaObjectId, sherlock_classifications.classification AS class \nFROM objects, sherlock_classifications"
                           ' \nWHERE\n objects.diaObjectId=sherlock_classifications.diaObjectId AND\n'
                           ' sherlock_classifications.classification IN ("SN","NT")')
    tns = api.create(user="91", name="tns", selected="objects.diaObjectId", tables="objects, crossmatch_tns")
    assert f"watchlist_hits.wl_id={api.settings.tns_watchlist_id}" in tns["sql"]
    for request, message in [
        ({"sql": SQL, "selected": "objects.ra", "tables": "objects"}, "not both"),
        ({"selected": "objects.ra"}, "the three-part form needs tables"),
        ({"selected": "objects.ra", "tables": 5}, "tables must be text"),
        ({"sql": "SELECT objects.ra FROM objects, area_hits WHERE area_hits.ar_id = 987654"}, "area 987654 does not exist"),
    ]:
        status, body = api.call("POST", "/filters", {"name": "refused", **request}, user="91")
        assert status == 400 and message in body["error"], (request, body)
    marker = api.create(user="91", name="marker after three-part", sql=SQL)
    api.shown(marker["id"])
    assert sorted(f["name"] for f in api.listed().values() if f["user"] == "91") == ["marker after three-part", "sn hosts", "tns"]
