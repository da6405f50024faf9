"""The watchlists and areas pages over HTTP, in process, on the embedded broker: uploads (file and
pasted text), bad files refused with their line and nothing saved, delete, the three-part filter
form joined on a watchlist, and another user neither seeing nor using a private one."""
from __future__ import annotations

import re

import pytest
from aiohttp import FormData

from agents.kafka.admin import ensure_topics
from agents.kafka.topology import core_topics
from agents.web.pages import STATE
from pipeline.settings import Settings
from tests.agents.web.helpers import add_users, csrf_of, sign_in, web_client, with_own_users
from tests.conftest import connection

pytestmark = pytest.mark.integration

GOOD = "ra, dec, name, radius\n10.0, -20.0, first, none\n10:00:00.0, -30:00:00, second, 2.5\n"
BAD = "ra, dec, name\n10.0, -20.0, first\n11.0, -95.0, too far south\n"


def upload(csrf: str, name: str, data: str, filename: str | None = None, **more: str) -> FormData:
    """The upload form as a browser sends it: the file part if `filename`, else the text pasted."""
    form = FormData()
    for key, value in {"csrf": csrf, "name": name, "description": "", **more}.items():
        form.add_field(key, value)
    if filename:
        form.add_field("file", data.encode(), filename=filename, content_type="text/plain")
    else:
        form.add_field("file", b"", filename="", content_type="application/octet-stream")  # no file chosen
        form.add_field("text", data)
    return form


def three_part(csrf: str, tables: str, conditions: str = "", name: str = "Near my sources") -> dict[str, str]:
    return {"csrf": csrf, "action": "save", "sql": "", "name": name, "streaming": "lite", "description": "", "email": "",
            "selected": "objects.diaObjectId, watchlist_hits.name", "tables": tables, "conditions": conditions}


async def test_uploads_bad_files_three_part_filters_and_a_private_watchlist_unseen_by_others(settings: Settings) -> None:
    settings = with_own_users(settings)
    (_alice, alice_token), (_bob, bob_token) = await add_users(settings, "alice", "bob")
    await ensure_topics(connection(settings), core_topics(settings))
    async with web_client(settings) as web:
        await sign_in(web, alice_token)
        page = await (await web.get("/watchlists")).text()
        assert "My watchlists" in page and "You have no watchlists yet" in page
        csrf = csrf_of(page)
        books = web.server.app[STATE].books

        bad = await web.post("/watchlists", data=upload(csrf, "Mine", BAD, filename="bad.csv"))
        text = await bad.text()
        assert bad.status == 400 and "Not saved: file &#39;bad.csv&#39;: line 3: declination" in text, text[-2000:]
        assert 'value="Mine"' in text  # the form keeps what was typed
        nothing = await web.post("/watchlists", data=upload(csrf, "Mine", ""))
        assert nothing.status == 400 and "choose a file, or paste its text" in await nothing.text()
        bad_moc = await web.post("/areas", data=upload(csrf, "Patch", "8/1-x", filename="patch.txt"))
        assert bad_moc.status == 400 and "Not saved: file &#39;patch.txt&#39;: not a valid ASCII MOC" in await bad_moc.text()
        no_csrf = await web.post("/watchlists", data=upload("wrong", "Mine", GOOD))
        assert no_csrf.status == 403
        huge = await web.post("/watchlists", data=upload(csrf, "Mine", "0, 0, x\n" * 2_200_000, filename="huge.csv"))
        assert huge.status == 413 and "Not saved: the upload is over 16 MB" in await huge.text()
        assert not books.watchlists.items and not books.areas.items  # nothing saved

        saved = await web.post("/watchlists", data=upload(csrf, "Mine", GOOD, radius="4"), allow_redirects=False)
        assert saved.status == 303, await saved.text()
        wl_id = int(re.search(r"saved=(\d+)&n=2$", saved.headers["Location"]).group(1))  # type: ignore[union-attr]
        listed = await (await web.get(saved.headers["Location"])).text()
        assert f"Watchlist {wl_id} saved with 2 sources" in listed
        row = re.search(rf'<tr data-id="{wl_id}">(.*?)</tr>', listed, re.S).group(1)  # type: ignore[union-attr]
        assert "Mine" in row and "<td>no</td><td>yes</td>" in row and f"watchlist_hits.wl_id = {wl_id}" in row
        area = await web.post("/areas", data=upload(csrf, "Patch", "8/1-5", filename="patch.txt"), allow_redirects=False)
        assert area.status == 303
        assert "Patch" in await (await web.get("/areas")).text()
        assert f"watchlist_hits.wl_id = {wl_id}</code> Mine" in await (await web.get("/filters/new")).text()

        refused = await web.post("/filters/new", data=three_part(csrf, f"objects, watchlist:{wl_id}", "objects.ra > 0; DROP"))
        assert refused.status == 400 and "Three-part form: cannot use ; in the WHERE clause" in await refused.text()
        missing = await web.post("/filters/new", data=three_part(csrf, f"objects, watchlist:{wl_id + 100}"))
        assert missing.status == 400 and f"watchlist {wl_id + 100} does not exist" in await missing.text()
        made = await web.post("/filters/new", data=three_part(csrf, f"objects, watchlist:{wl_id}"), allow_redirects=False)
        assert made.status == 303, await made.text()
        filter_id = made.headers["Location"].split("/")[2].split("?")[0]
        assert f"watchlist_hits.wl_id={wl_id}" in web.server.app[STATE].filters.records[filter_id].sql.replace(" ", "")

    async with web_client(settings) as other:  # another copy of the server, for bob
        await sign_in(other, bob_token)
        page = await (await other.get("/watchlists")).text()
        assert "Mine" not in page and f'data-id="{wl_id}"' not in page
        assert f"wl_id = {wl_id}" not in await (await other.get("/filters/new")).text()
        csrf = csrf_of(page)
        assert (await other.post(f"/watchlists/{wl_id}/delete", data={"csrf": csrf})).status == 404
        used = await other.post("/filters/new", data=three_part(csrf, f"objects, watchlist:{wl_id}", name="Not mine"))
        assert used.status == 400 and f"watchlist {wl_id} is another user&#39;s and not public" in await used.text()
        assert wl_id in other.server.app[STATE].books.watchlists.items  # known to this copy: refused as alice's, not as unknown

        await sign_in(other, alice_token)
        deleted = await other.post(f"/watchlists/{wl_id}/delete", data={"csrf": csrf_of(await (await other.get("/watchlists")).text())},
                                   allow_redirects=False)
        assert deleted.status == 303
        after = await (await other.get(deleted.headers["Location"])).text()
        assert f"Watchlist {wl_id} deleted" in after and f'data-id="{wl_id}"' not in after
        assert wl_id not in other.server.app[STATE].books.watchlists.items
