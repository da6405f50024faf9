"""The worker's HTTP API for watchlists and areas: list, create (file upload), read, update, delete.

A body is JSON (`{"name": ..., "file": "<the file's text>"}`) or multipart/form-data (a `file`
part and one part per field). Reads answer from the worker's books; writes go through
`WatchlistStore`, as the command line's do, and reach every worker through the topics.
Who is asking is the request's API token (`auth.viewer`), as for /filters; who may see and change
what is `pipeline.users.watchlist_views`: without a token, reads show public records only and every
write is 401; a record the caller may not see is 404, one they may see but not change 403. A new
record's owner is the token's user; only an admin may name another owner with `user`.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import faust
import orjson
from faust.web import Request, Response, View

from agents.store.watchlists import UnknownRecord, WatchlistStore
from pipeline.context.areas import AreaFileError, InvalidArea, parse_moc
from pipeline.context.watchlist_file import WatchlistFileError, parse_watchlist
from pipeline.context.watchlist_limits import DEFAULT_RADIUS_ARCSEC
from pipeline.context.watchlist_record import InvalidWatchlist
from pipeline.users.records import User
from pipeline.users.watchlist_views import area_fields, can_change, can_see, seen, watchlist_fields
from .auth import forbidden, unauthorized, viewer

if TYPE_CHECKING:
    from .app import WorkerState

REFUSALS = (WatchlistFileError, AreaFileError, InvalidWatchlist, InvalidArea, orjson.JSONDecodeError, TypeError, ValueError)
TRUE, FALSE = {"true", "yes", "1", "on"}, {"false", "no", "0", "off", ""}
SETTINGS = {"watchlists": {"name", "description", "public", "active", "radius"}, "areas": {"name", "description", "public", "active"}}


async def form_of(request: Request) -> dict[str, Any]:
    """The body's fields: JSON as it is; multipart/form-data with the `file` part as bytes and the
    others as text turned into the JSON types (radius a number, public and active true/false)."""
    if request.content_type != "multipart/form-data":
        body = orjson.loads(await request.read())
        if not isinstance(body, dict):
            raise TypeError("the request body must be a JSON object or multipart/form-data")
        if isinstance(body.get("file"), str):
            body["file"] = body["file"].encode()
        return body
    form: dict[str, Any] = {}
    for key, value in (await request.post()).items():
        form[key] = value.file.read() if hasattr(value, "file") else str(value)
    for flag in ("public", "active"):
        if isinstance(form.get(flag), str):
            if form[flag].lower() not in TRUE | FALSE:
                raise ValueError(f"{flag} must be true or false, got {form[flag]!r}")
            form[flag] = form[flag].lower() in TRUE
    if isinstance(form.get("radius"), str):
        try:
            form["radius"] = float(form["radius"])
        except ValueError:
            raise ValueError(f"radius {form['radius']!r} is not a number of arcsec") from None
    return form


def register_watchlist_api(app: faust.App, worker: WorkerState) -> None:
    books = worker.watchlists.books

    def store() -> WatchlistStore:
        async def send(topic: str, key: bytes, value: bytes | None, headers: Any) -> Any:
            return await app.producer.send_and_wait(topic, key, value, None, None, headers)

        return WatchlistStore(worker.settings, books, send, worker.watchlists.changed)

    def refused(view: View, error: Exception, status: int = 400) -> Response:
        return view.json({"error": str(error)}, status=status)

    def owner_of(who: User, form: dict[str, Any]) -> str:
        """The new record's owner: the token's user, or for an admin the known user `user` names."""
        if "user" not in form:
            return str(who.id)
        named = str(form["user"]).strip()
        if not who.admin:
            raise ValueError("user: a new record's owner is the token's user; only an admin may name another")
        if not named.isdigit() or worker.users.get(int(named)) is None:
            raise ValueError(f"user: {named!r} is not the id of a known user")
        return named

    def collection(kind: str, items: Callable[[], dict[int, Any]], fields: Callable[..., dict[str, Any]]) -> None:
        allowed = SETTINGS[kind]

        async def create(form: dict[str, Any], owner: str) -> Any:
            if kind == "watchlists":
                return await store().add_watchlist(owner, form.get("name", ""), parse_watchlist(form["file"]),
                                                   form.get("radius", DEFAULT_RADIUS_ARCSEC), **{k: form[k] for k in allowed - {"name", "radius"} if k in form})
            return await store().add_area(owner, form.get("name", ""), parse_moc(form["file"]),
                                          **{k: form[k] for k in allowed - {"name"} if k in form})

        async def change(record_id: int, form: dict[str, Any]) -> Any:
            changes = {k: form[k] for k in allowed if k in form}
            if kind == "watchlists":
                if "file" in form:
                    changes["sources"] = parse_watchlist(form["file"])
                return await store().update_watchlist(record_id, **changes)
            if "file" in form:
                changes["moc"] = parse_moc(form["file"])
            return await store().update_area(record_id, **changes)

        async def remove(record_id: int) -> None:
            await (store().delete_watchlist(record_id) if kind == "watchlists" else store().delete_area(record_id))

        @app.page(f"/{kind}")
        class Collection(View):
            async def get(self, request: Request) -> Response:
                return self.json([fields(r) for r in seen(await viewer(worker, request), items().values())])

            async def post(self, request: Request) -> Response:
                who = await viewer(worker, request)
                if who is None:
                    return unauthorized(self)
                try:
                    form = await form_of(request)
                    unknown = set(form) - allowed - {"file", "user"}
                    if unknown:
                        raise ValueError(f"unknown fields: {', '.join(sorted(unknown))}")
                    if "file" not in form:
                        raise ValueError("no file: send it as the `file` part (multipart) or the `file` text (JSON)")
                    record = await create(form, owner_of(who, form))
                except REFUSALS as error:
                    return refused(self, error)
                return self.json(fields(record), status=201)

        @app.page(f"/{kind}/{{record_id}}")
        class One(View):
            async def found(self, request: Request, record_id: str) -> tuple[User | None, Any]:
                who = await viewer(worker, request)
                record = items().get(int(record_id)) if record_id.isdigit() else None
                return who, record if record is not None and can_see(who, record) else None

            async def changeable(self, request: Request, record_id: str) -> tuple[User, Any] | Response:
                """The caller and the record they may change, or the answer why not: 401 (no token), 404 (not theirs to see), 403."""
                who, record = await self.found(request, record_id)
                if who is None:
                    return unauthorized(self)
                if record is None:
                    return self.json({"error": f"no {kind[:-1]} {record_id}"}, status=404)
                if not can_change(who, record):
                    return forbidden(self, f"{kind[:-1]} {record_id}")
                return who, record

            async def get(self, request: Request, record_id: str) -> Response:
                _, record = await self.found(request, record_id)
                if record is None:
                    return self.json({"error": f"no {kind[:-1]} {record_id}"}, status=404)
                return self.json(fields(record, True))

            async def put(self, request: Request, record_id: str) -> Response:
                found = await self.changeable(request, record_id)
                if not isinstance(found, tuple):  # the answer why not
                    return found
                record = found[1]
                try:
                    form = await form_of(request)
                    unknown = set(form) - allowed - {"file"}
                    if unknown:
                        raise ValueError(f"fields that cannot be changed: {', '.join(sorted(unknown))}")
                    record = await change(record.id, form)
                except REFUSALS as error:
                    return refused(self, error)
                except UnknownRecord as error:
                    return refused(self, error, 404)
                return self.json(fields(record))

            async def delete(self, request: Request, record_id: str) -> Response:
                found = await self.changeable(request, record_id)
                if not isinstance(found, tuple):  # the answer why not
                    return found
                record = found[1]
                try:
                    await remove(record.id)
                except UnknownRecord as error:
                    return refused(self, error, 404)
                return self.json({"deleted": record.id})

    @app.page("/watchlists-index")
    async def index_page(web: Any, request: Request) -> Response:
        """What this worker matches alerts against now (the indexes swapped in), by id."""
        context = worker.watchlists
        return web.json({"watchlists": sorted(context.watchlist_source.index.watchlists), "sources": len(context.watchlist_source.index),
                         "areas": [area_id for area_id, _ in context.area_source.index.areas]})

    collection("watchlists", lambda: books.watchlists.items, watchlist_fields)
    collection("areas", lambda: books.areas.items, area_fields)
