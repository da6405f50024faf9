"""Issue 15 over HTTP: tokens, ownership, strict input, unique topics and per-user limits, as a
second user of the shared service would try them, against two real worker processes.

Users are made with the operator's command line (`run.py user add`, a subprocess), as in
production; what a worker knows arrives through compacted topics, so every change is awaited by
polling with a deadline, never by sleeping.
"""
from __future__ import annotations

import asyncio
import json
import re
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from agents.dev.broker import EmbeddedBroker
from agents.dev.worker_process import WorkerProcess
from agents.kafka.admin import ensure_topics
from agents.kafka.topology import core_topics
from pipeline.users.records import User
from tests.agents.cli.test_cli_errors import one_line_failure, run
from tests.agents.worker.test_filter_api import SQL, Api, eventually, topics, with_users_topic
from tests.conftest import connection, isolated_settings
from tests.kafka_clients import read_topic

pytestmark = pytest.mark.integration

MAX_ACTIVE, DRY_RUNS_PER_MINUTE = 2, 3  # small, so the limits are reached in a few requests
ALICE_MAIL, BOB_MAIL = "alice@example.org", "bob@example.org"
HUGE_ID = "1" * 400
ALICE, BOB, CAROL, ADMIN = "2", "3", "4", "1"  # made in this order by the fixture
LIMITED = "20"  # for the active-filter limit: no filters of its own before
ISSUED: list[str] = []  # every token the command line printed, revoked ones too


def cli_user(api: Api, *argv: str) -> tuple[str, str]:
    """`run.py user ...` that prints a user id and a token: both, the token then used for that user by `api`."""
    result = run("user", *argv, settings=api.settings)
    assert result.returncode == 0, result.stderr
    user = re.search(r"^user (\d+)", result.stdout, re.M)
    token = re.search(r"^token (\S+)  \(shown once", result.stdout, re.M)
    assert user and token, result.stdout
    api.tokens[user[1]] = token[1]
    ISSUED.append(token[1])
    return user[1], token[1]


def with_authorization(api: Api, authorization: str) -> tuple[int, Mapping[str, str], Any]:
    """An empty dry run (nothing runs) with this `Authorization` header: 401 without a valid token, else 400."""
    request = urllib.request.Request(api.base + "/filters-dry-run", data=b"{}", method="POST",
                                     headers={"Content-Type": "application/json", "Authorization": authorization})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, error.headers, json.loads(error.read())


def status_with(api: Api, token: str) -> int:
    return with_authorization(api, f"Token {token}")[0]


def page_text(api: Api, path: str) -> str:
    with urllib.request.urlopen(api.base + path, timeout=30) as response:
        return response.read().decode()


@pytest.fixture(scope="module")
def apis(broker: EmbeddedBroker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Api, Api]]:
    """Two workers of one group; users made with the command line: 1 an admin, then alice, bob and carol."""
    folder = tmp_path_factory.mktemp("auth-api")
    settings = with_users_topic(isolated_settings(broker.bootstrap, folder), max_active_filters=MAX_ACTIVE,
                                dry_runs_per_minute=DRY_RUNS_PER_MINUTE)
    asyncio.run(ensure_topics(connection(settings), core_topics(settings)))
    workers = [WorkerProcess.with_free_port(settings, folder / f"worker-{n}.log").start() for n in (1, 2)]
    tokens: dict[str, str] = {}
    first, second = (Api(w.settings, w, tokens=tokens) for w in workers)
    try:
        for api in (first, second):
            eventually(lambda: _up(api), "the worker's web server", timeout=60, every=0.2)
        assert cli_user(first, "add", "Operator", "--admin")[0] == "1"
        assert cli_user(first, "add", "Alice", "--email", ALICE_MAIL)[0] == "2"
        assert cli_user(first, "add", "Bob", "--email", BOB_MAIL)[0] == "3"
        assert cli_user(first, "add", "Carol")[0] == "4"
        for api in (first, second):
            for user, token in list(tokens.items()):
                eventually(lambda: status_with(api, token) == 400, f"user {user}'s token accepted on {api.base}")
        yield first, second
    finally:
        for worker in workers:
            assert worker.stop() == 0, worker.log_path.read_text()[-3000:]


def _up(api: Api) -> bool:
    assert api.worker.alive(), api.worker.log_path.read_text()[-3000:]
    try:
        return api.call("GET", "/filters", user=None)[0] == 200
    except OSError:
        return False



def settled(api: Api, marker_user: str) -> dict[str, dict[str, Any]]:
    """Every filter (as the admin sees them) once a new marker filter is visible: the registry is one
    partition, so any write made before the marker would be visible too. The marker is deleted again."""
    marker = api.create(user=marker_user, name=f"marker {uuid.uuid4().hex[:6]}", sql=SQL, active=False)
    api.shown(marker["id"])
    listed = api.listed()
    assert api.call("DELETE", f"/filters/{marker['id']}")[0] == 200
    eventually(lambda: marker["id"] not in api.listed(), "the marker's tombstone")
    return {k: v for k, v in listed.items() if k != marker["id"]}


def test_without_a_valid_token_every_write_is_401_and_reads_show_public_filters_only(apis: tuple[Api, Api]) -> None:
    api, _ = apis
    private = api.create(user=ALICE, name="alice private", sql=SQL, email=ALICE_MAIL)
    public = api.create(user=ALICE, name="alice public", sql=SQL, email=ALICE_MAIL, public=True)
    api.shown(public["id"])
    api.shown(private["id"])
    before = topics(api.settings), settled(api, ALICE)

    fid = private["id"]
    writes = [("POST", "/filters", {"name": "sneaky", "sql": SQL}), ("PUT", f"/filters/{fid}", {"quota_bytes": 1}),
              ("DELETE", f"/filters/{fid}", None), ("POST", "/filters-dry-run", {"sql": SQL})]
    alice_token = api.tokens[ALICE]
    for method, path, body in writes:
        status, headers, answer = api.answer(method, path, body, user=None)
        assert status == 401 and headers["WWW-Authenticate"] == "Token", (method, path, answer)
        assert "Authorization: Token <token>" in answer["error"]
    for wrong in (alice_token[:-1] + ("A" if alice_token[-1] != "A" else "B"),  # one character off
                  "3." + alice_token.partition(".")[2],  # alice's secret under bob's id
                  "2", "", "2." + "x" * 200):
        assert status_with(api, wrong) == 401, wrong
    assert with_authorization(api, f"Bearer {alice_token}")[0] == 401, "only the Token scheme"
    assert (topics(api.settings), settled(api, ALICE)) == before, "nothing written"

    status, listed = api.call("GET", "/filters", user=None)
    shown = {f["id"]: f for f in listed}
    assert status == 200 and public["id"] in shown and fid not in shown
    assert "email" not in shown[public["id"]] and "quota_bytes" not in shown[public["id"]]
    assert shown[public["id"]]["sql"] == SQL and shown[public["id"]]["topic"] == public["topic"]
    assert api.call("GET", f"/filters/{fid}", user=None)[0] == 401
    for made in (private, public):  # alice's active filters count against her limit in later tests
        assert api.call("DELETE", f"/filters/{made['id']}", user=ALICE)[0] == 200
    eventually(lambda: not {private["id"], public["id"]} & set(api.listed()), "the tombstones")


def test_others_filters_cannot_be_changed_and_never_show_their_address_but_an_admin_may(apis: tuple[Api, Api]) -> None:
    api, _ = apis
    private = api.create(user=ALICE, name="owned private", sql=SQL, email=ALICE_MAIL)
    public = api.create(user=ALICE, name="owned public", sql=SQL, email=ALICE_MAIL, public=True)
    assert private["user"] == public["user"] == ALICE and private["email"] == ALICE_MAIL, "the owner sees the address"
    api.shown(private["id"])
    api.shown(public["id"])

    # bob: alice's public filter without her address, not her private one; no change to either
    status, listed = api.call("GET", "/filters", user=BOB)
    seen = {f["id"]: f for f in listed}
    assert status == 200 and public["id"] in seen and private["id"] not in seen
    assert api.call("GET", f"/filters/{private['id']}", user=BOB)[0] == 403
    status, one = api.call("GET", f"/filters/{public['id']}", user=BOB)
    assert status == 200 and "email" not in one and one["sql"] == SQL
    for made in (private, public):
        status, body = api.call("PUT", f"/filters/{made['id']}", {"email": BOB_MAIL, "quota_bytes": 1}, user=BOB)
        assert status == 403 and body["error"] == f"filter {made['id']} is not yours: only its owner or an admin may change it"
        assert api.call("DELETE", f"/filters/{made['id']}", user=BOB)[0] == 403
    for path in ("/filters", f"/filters/{public['id']}"):
        assert ALICE_MAIL not in str(api.call("GET", path, user=BOB)[1])
        assert ALICE_MAIL not in str(api.call("GET", path, user=None)[1])
    for page in ("/metrics", "/stats", "/digests"):
        assert ALICE_MAIL not in page_text(api, page), f"{page} shows an e-mail address"
    after = api.listed()
    assert (after[private["id"]]["version"], after[public["id"]]["version"]) == (1, 1), "bob changed nothing"

    # alice herself, and the admin, may
    status, changed = api.call("PUT", f"/filters/{public['id']}", {"description": "mine"}, user=ALICE)
    assert status == 200 and changed["version"] == 2 and changed["email"] == ALICE_MAIL
    status, changed = api.call("PUT", f"/filters/{private['id']}", {"quota_bytes": 5_000}, user=ADMIN)
    assert status == 200 and changed["quota_bytes"] == 5_000 and changed["user"] == ALICE, "an admin's change keeps the owner"
    api.shown(public["id"], lambda f: f["version"] == 2)
    assert api.call("DELETE", f"/filters/{public['id']}", user=ALICE) == (200, {"deleted": public["id"]})
    assert api.call("DELETE", f"/filters/{private['id']}", user=ADMIN) == (200, {"deleted": private["id"]})
    assert not {public["topic"], private["topic"]} & topics(api.settings)


def test_a_filter_whose_topic_is_another_filters_is_409_and_nothing_is_written(apis: tuple[Api, Api]) -> None:
    api, _ = apis
    twelve = "12"
    api.token(twelve)  # user 12 (the issue's example: user 1's "2abc" and user 12's "abc" are one topic)
    ones = api.create(user="1", name="2abc", sql=SQL)
    bright = api.create(user=BOB, name="Bright", sql=SQL)
    api.shown(ones["id"])
    api.shown(bright["id"])
    before = topics(api.settings), settled(api, BOB)

    for user, name, other in ((twelve, "abc", ones), (BOB, "Bright!", bright), (BOB, "Bright?", bright)):
        status, body = api.call("POST", "/filters", {"name": name, "sql": SQL}, user=user)
        assert status == 409, body
        assert (body["field"], body["clashes_with"], body["topic"]) == ("name", other["id"], other["topic"])
        assert body["error"].startswith(f"name: topic {other['topic']} is already the topic of filter {other['id']}")
        assert "of user" not in body["error"], "a user is not told who owns the other filter, nor its name"
    mine = api.create(user=BOB, name="Dim", sql=SQL)
    api.shown(mine["id"])
    status, body = api.call("PUT", f"/filters/{mine['id']}", {"name": "Bright!!"}, user=BOB)
    assert status == 409 and body["clashes_with"] == bright["id"]
    status, body = api.call("PUT", f"/filters/{mine['id']}", {"name": "Dim"}, user=BOB)  # its own topic is no clash
    assert status == 200 and body["topic"] == mine["topic"]
    assert api.call("DELETE", f"/filters/{mine['id']}", user=BOB)[0] == 200
    eventually(lambda: mine["id"] not in api.listed(), "the tombstone")
    assert (topics(api.settings), settled(api, BOB)) == before, "nothing written"

    # the operator's command line refuses the same, naming the filter and its owner
    result = run("filter", "add", "--user", twelve, "--name", "abc", "--mode", "plain", "--sql", SQL, settings=api.settings)
    line = one_line_failure(result, f"refused: name: topic {ones['topic']} is already the topic of filter {ones['id']} ('2abc' of user 1)")
    assert result.returncode == 2, line
    assert (topics(api.settings), settled(api, BOB)) == before, "nothing written"


BAD_FIELDS = [
    ({"active": "no"}, "active", "active: must be true or false, got a string 'no'"),
    ({"public": 1}, "public", "public: must be true or false, got an integer 1"),
    ({"quota_bytes": True}, "quota_bytes", "quota_bytes: must be an integer, got a boolean"),
    ({"quota_bytes": 10 ** 30}, "quota_bytes", "quota_bytes: must be an integer, got a number"),  # JSON's 1e30 reads as a float
    ({"quota_bytes": 10 ** 18}, "quota_bytes", "quota_bytes: must be between 1 and 10,000,000,000"),
    ({"name": "two\nlines"}, "name", "name: character 4 is a control character (U+000A)"),
    ({"name": "red \x1b[31malert"}, "name", "name: character 5 is a control character (U+001B)"),
    ({"name": "n" * 65}, "name", "name: is 65 characters, at most 64"),
    ({"description": "bell\x07"}, "description", "description: character 5 is a control character"),
    ({"email": ["a@example.org"]}, "email", "email: must be a string, got a list"),
    ({"sql": 42}, "sql", "sql: must be a string, got an integer"),
]


def test_each_bad_type_or_range_is_400_naming_the_field_and_nothing_is_written(apis: tuple[Api, Api]) -> None:
    api, _ = apis
    kept = api.create(user=CAROL, name="kept as it is", sql=SQL, active=False)
    api.shown(kept["id"])
    before = topics(api.settings), settled(api, CAROL)
    for change, field, message in BAD_FIELDS:
        status, body = api.call("POST", "/filters", {"name": "strict", "sql": SQL, **change}, user=CAROL)
        assert status == 400 and body["field"] == field and body["error"].startswith(message), (change, body)
        status, body = api.call("PUT", f"/filters/{kept['id']}", change, user=CAROL)
        assert status == 400 and body["field"] == field and body["error"].startswith(message), (change, body)
    assert (topics(api.settings), settled(api, CAROL)) == before, "nothing written"

    # the command line: the same checks, one line, exit 2
    cases = [(["--user", HUGE_ID, "--name", "huge"], "refused: user: must be digits only, at most 18, got '11111111111111111111"),
             (["--user", "4", "--name", "two\nlines"], "refused: name: character 4 is a control character"),
             (["--user", "4", "--name", "huge", "--quota-bytes", str(10 ** 30)], "refused: quota_bytes: must be between 1 and")]
    for argv, message in cases:
        result = run("filter", "add", *argv, "--mode", "plain", "--sql", SQL, settings=api.settings)
        one_line_failure(result, message)
        assert result.returncode == 2
    result = run("filter", "update", kept["id"], "--quota-bytes", str(10 ** 30), settings=api.settings)
    one_line_failure(result, "refused: quota_bytes: must be between 1 and")
    assert (topics(api.settings), settled(api, CAROL)) == before, "nothing written"


def test_per_user_limits_are_429(apis: tuple[Api, Api]) -> None:
    api, _ = apis
    made = [api.create(user=LIMITED, name=f"active {n}", sql=SQL) for n in range(MAX_ACTIVE)]
    for m in made:
        api.shown(m["id"])
    before = topics(api.settings), settled(api, LIMITED)
    status, headers, body = api.answer("POST", "/filters", {"name": "one too many", "sql": SQL}, user=LIMITED)
    assert status == 429 and body["limit"] == "max_active_filters", body
    assert body["error"] == f"user {LIMITED} already has {MAX_ACTIVE} active filters, at most {MAX_ACTIVE}: make one inactive or delete it first"
    assert "Retry-After" not in headers, "waiting does not help: only the user's own change does"
    resting = api.create(user=LIMITED, name="resting", sql=SQL, active=False)  # an inactive filter is not counted
    api.shown(resting["id"])
    status, _, body = api.answer("PUT", f"/filters/{resting['id']}", {"active": True}, user=LIMITED)
    assert status == 429 and body["limit"] == "max_active_filters"
    assert api.call("DELETE", f"/filters/{resting['id']}", user=LIMITED)[0] == 200
    eventually(lambda: resting["id"] not in api.listed(), "the tombstone")
    assert (topics(api.settings), settled(api, LIMITED)) == before, "nothing written past the limit"
    other = api.create(user=CAROL, name="carol is not limited", sql=SQL)
    assert other["user"] == CAROL and other["active"], "the limit is per user"
    api.shown(other["id"])
    for m in made + [other]:
        assert api.call("DELETE", f"/filters/{m['id']}")[0] == 200

    # dry runs per minute, per user: past them 429 with the wait until the oldest leaves the minute
    answers = [api.answer("POST", "/filters-dry-run", {"sql": SQL, "limit": 1}, user=ALICE) for _ in range(DRY_RUNS_PER_MINUTE + 1)]
    assert [a[0] for a in answers] == [200] * DRY_RUNS_PER_MINUTE + [429], [a[2] for a in answers]
    status, headers, body = answers[-1]
    assert body["limit"] == "dry_runs_per_minute" and 1 <= int(headers["Retry-After"]) <= 60
    assert body["error"] == f"at most {DRY_RUNS_PER_MINUTE} per 60 s; try again in {headers['Retry-After']} s"
    assert api.answer("POST", "/filters-dry-run", {"sql": SQL, "limit": 1}, user=CAROL)[0] == 200, "another user is not limited by alice"


def test_a_new_token_revokes_the_old_on_every_worker_within_seconds(apis: tuple[Api, Api]) -> None:
    first, second = apis
    user, old = cli_user(first, "add", "Dave")
    for api in apis:
        eventually(lambda: status_with(api, old) == 400, f"dave's token accepted on {api.base}")
    started = time.monotonic()
    assert cli_user(first, "token", user)[0] == user
    new = first.tokens[user]
    for api in apis:
        eventually(lambda: status_with(api, old) == 401, f"the old token refused on {api.base}", timeout=10)
        eventually(lambda: status_with(api, new) == 400, f"the new token accepted on {api.base}", timeout=10)
    refused_after = time.monotonic() - started
    print(f"revoked on both workers {refused_after:.1f} s after `user token` was started")

    result = run("user", "disable", user, settings=first.settings)
    assert result.returncode == 0 and result.stdout.strip() == f"user {user} disabled: their token is refused from now on"
    for api in apis:
        eventually(lambda: status_with(api, new) == 401, f"a disabled user's token refused on {api.base}", timeout=10)

    listing = run("user", "list", settings=first.settings)
    assert listing.returncode == 0
    lines = {line.split()[0]: line for line in listing.stdout.splitlines()}
    assert lines["1"].endswith("admin") and "Alice" in lines[ALICE] and ALICE_MAIL in lines[ALICE]
    assert lines[user].endswith("disabled")
    assert not any(token in listing.stdout for token in first.tokens.values()) and "scrypt" not in listing.stdout


def test_the_users_topic_holds_hashes_only(apis: tuple[Api, Api]) -> None:
    api, _ = apis
    records = read_topic(api.settings.bootstrap, api.settings.users_topic, f"users-{uuid.uuid4().hex[:6]}", expected=5, quiet=1.0)
    assert len(records) >= 5
    secrets = {token.partition(".")[2] for token in ISSUED}
    assert len(secrets) >= 6
    for record in records:
        user = User.from_json(record.value())
        assert user.token_hash == "" or user.token_hash.startswith("scrypt$8192$8$1$")
        assert not any(secret in record.value().decode() for secret in secrets), "a token at rest"


def test_the_user_commands_refuse_bad_input_in_one_line(apis: tuple[Api, Api]) -> None:
    api, _ = apis
    assert one_line_failure(run("user", "token", HUGE_ID, settings=api.settings), "refused: id: must be digits only, at most 18")
    result = run("user", "token", "999", settings=api.settings)
    assert result.returncode == 1 and one_line_failure(result) == "no user 999"
    result = run("user", "add", "red \x1b[31m", settings=api.settings)
    assert result.returncode == 2 and one_line_failure(result) == "refused: name: character 5 is a control character (U+001B):" \
        " newlines, tabs and escapes are not allowed"
    result = run("user", "add", "Eve", "--email", "eve at home", settings=api.settings)
    assert result.returncode == 2 and one_line_failure(result) == "refused: email: 'eve at home' is not a valid e-mail address"
    listing = run("user", "list", settings=api.settings).stdout
    assert "Eve" not in listing and "red" not in listing

