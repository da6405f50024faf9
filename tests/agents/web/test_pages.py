"""The web pages over HTTP, in process, on the embedded broker: sign-in, CSRF, the filter form's
check / run / save, ownership, and page times with 1,000 filters in the registry."""
from __future__ import annotations

import re

import pytest

from agents.cli.replay import produce
from agents.kafka.admin import ensure_topics
from agents.kafka.topology import core_topics
from agents.web.pages import STATE
from pipeline.settings import Settings
from pipeline.synthetic.alerts import synthetic_messages
from tests.agents.web.helpers import add_users, csrf_of, sign_in, web_client, with_own_users
from tests.conftest import connection

pytestmark = pytest.mark.integration

TYPO_SQL = "SELECT objects.diaObjectId, objects.ra\nFROM objects\nWHERE objects.nDiaSorces >= 3"
GOOD_SQL = TYPO_SQL.replace("nDiaSorces", "nDiaSources")


def form(csrf: str, action: str, sql: str, name: str = "Bright things", streaming: str = "lite", **more: str) -> dict[str, str]:
    return {"csrf": csrf, "action": action, "sql": sql, "name": name, "streaming": streaming, "description": "", "email": "", **more}


async def test_sign_in_check_run_save_and_only_the_owner_sees_a_private_filter(settings: Settings) -> None:
    settings = with_own_users(settings)
    (alice, alice_token), (bob, bob_token) = await add_users(settings, "alice", "bob")
    await ensure_topics(connection(settings), core_topics(settings))
    await produce(connection(settings), settings.alert_topic, list(synthetic_messages(60, 3)), progress=False)
    async with web_client(settings) as web:
        signed_out = await (await web.get("/")).text()
        assert "Public filters" in signed_out and "My filters" not in signed_out and "Sign in" in signed_out
        no_csrf = await web.post("/signin", data={"token": alice_token}, allow_redirects=False)
        assert no_csrf.status == 403
        page = await (await web.get("/signin")).text()
        wrong = await web.post("/signin", data={"csrf": csrf_of(page), "token": alice_token + "x"})
        assert wrong.status == 401 and "not valid" in await wrong.text()
        await sign_in(web, alice_token)
        home = await (await web.get("/")).text()
        assert "Signed in as <strong>alice</strong>" in home and "My filters" in home
        csrf = csrf_of(home)

        typo = await web.post("/filters/new", data=form(csrf, "check", TYPO_SQL))
        text = await typo.text()
        assert typo.status == 400 and "Line 3, column 7: unknown column &#39;nDiaSorces&#39;" in text and "nDiaSources" in text
        checked = await (await web.post("/check", json={"sql": TYPO_SQL}, headers={"X-CSRF-Token": csrf})).json()
        assert (checked["ok"], checked["line"], checked["column"]) == (False, 3, 7)
        assert (await web.post("/check", json={"sql": TYPO_SQL})).status == 403  # no CSRF header

        run = await (await web.post("/filters/new", data=form(csrf, "run", GOOD_SQL))).text()
        assert re.search(r"<strong>\d+</strong> of 60 recent alerts matched", run), run[-3000:]

        saved = await web.post("/filters/new", data=form(csrf, "save", GOOD_SQL), allow_redirects=False)
        assert saved.status == 303, await saved.text()
        location = saved.headers["Location"]
        filter_id = location.split("/")[2].split("?")[0]
        page = await (await web.get(location)).text()
        topic = f"{settings.topic_prefix}{alice.id}Brightthings"
        assert f'<code id="topic">{topic}</code>' in page and "up to 10 records in its stream" in page
        assert f"consumer.subscribe([&#39;{topic}&#39;])" in page
        clash = await web.post("/filters/new", data=form(csrf, "save", GOOD_SQL, name="Bright things!"))
        assert clash.status == 400 and "would be the same as that of filter" in await clash.text()

    async with web_client(settings) as other:  # a second copy of the server, started after the save, for bob
        await sign_in(other, bob_token)
        csrf = csrf_of(await (await other.get("/")).text())
        assert "Bright things" not in await (await other.get("/")).text()
        assert (await other.get(f"/filters/{filter_id}")).status == 404
        assert (await other.get(f"/filters/{filter_id}/edit")).status == 404
        assert (await other.post(f"/filters/{filter_id}/delete", data={"csrf": csrf})).status == 404
        assert filter_id in other.server.app[STATE].filters.records  # known to this copy: refused as bob's, not as unknown
