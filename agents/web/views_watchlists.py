"""Watchlists and areas: the lists (mine and the public ones), upload and delete.

One set of handlers serves both, told apart by a `Kind`. An upload is a file (multipart) or text
pasted into the form; it is parsed whole before anything is written, so a bad file shows its
one-line error (with the line number) on the form and saves nothing. Writes go through
`WatchlistStore`, as the command line's and the worker API's do.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiokafka.errors import KafkaError

from agents.store.watchlists import Books, UnknownRecord, WatchlistStore
from pipeline.context.areas import AreaFileError, InvalidArea, parse_moc
from pipeline.context.watchlist_file import WatchlistFileError, parse_watchlist
from pipeline.context.watchlist_limits import DEFAULT_RADIUS_ARCSEC
from pipeline.context.watchlist_record import InvalidWatchlist
from pipeline.users.watchlist_views import area_fields, can_change, can_see, seen, watchlist_fields
from . import auth
from .pages import STATE, refusal, render

FILE_ERRORS = (WatchlistFileError, AreaFileError)
RECORD_ERRORS = (InvalidWatchlist, InvalidArea, UnknownRecord)


@dataclass(frozen=True)
class Kind:
    """What differs between the watchlists pages and the areas pages."""

    path: str  # "watchlists": the pages' path and the worker API's
    noun: str  # "watchlist"
    column: str  # how a filter names one: "watchlist_hits.wl_id"
    token: str  # the three-part form's table token: "watchlist"
    items: Callable[[Books], Mapping[int, Any]]
    fields: Callable[[Any], dict[str, Any]]
    parse: Callable[[bytes], Any]


WATCHLISTS = Kind("watchlists", "watchlist", "watchlist_hits.wl_id", "watchlist", lambda b: b.watchlists.items, watchlist_fields,
                  parse_watchlist)
AREAS = Kind("areas", "area", "area_hits.ar_id", "area", lambda b: b.areas.items, area_fields, parse_moc)


def visible(request: web.Request, kind: Kind) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Fields of the records the user owns (or, for an admin, every one), and of the other public ones."""
    user = request[auth.USER]
    shown = seen(user, kind.items(request.app[STATE].books).values())
    mine = [kind.fields(r) for r in shown if can_change(user, r)]
    others = [kind.fields(r) for r in shown if not can_change(user, r)]
    return mine, others


def list_page(request: web.Request, kind: Kind, status: int = 200, values: dict[str, Any] | None = None,
              error: str | None = None) -> web.Response:
    mine, others = visible(request, kind)
    done = {key: request.query[key] for key in ("saved", "deleted", "n") if key in request.query}
    return render(request, "collection.html", status=status, kind=kind, mine=mine, others=others, done=done, error=error,
                  v=values or {"name": "", "description": "", "radius": f"{DEFAULT_RADIUS_ARCSEC:g}", "public": False, "text": ""})


async def index(request: web.Request, kind: Kind) -> web.Response:
    return list_page(request, kind)


def uploaded(form: Mapping[str, Any]) -> tuple[bytes, str]:
    """The file's bytes and how to name it in an error: the file input if a file was chosen, else the pasted text."""
    part = form.get("file")
    if part is not None and hasattr(part, "file") and part.filename:
        return part.file.read(), f"file {part.filename!r}"
    text = str(form.get("text", ""))
    if not text.strip():
        raise ValueError("choose a file, or paste its text")
    return text.encode(), "the pasted text"


async def create(store: WatchlistStore, kind: Kind, owner: str, values: dict[str, Any], data: bytes) -> Any:
    parsed = kind.parse(data)
    settings = {"description": values["description"], "public": values["public"]}
    if kind is WATCHLISTS:
        try:
            radius = float(values["radius"])
        except ValueError:
            raise InvalidWatchlist(f"radius {values['radius']!r} is not a number of arcsec") from None
        return await store.add_watchlist(owner, values["name"], parsed, radius, **settings)
    return await store.add_area(owner, values["name"], parsed, **settings)


async def upload(request: web.Request, kind: Kind) -> web.StreamResponse:
    user = request[auth.USER]
    if user is None:
        raise web.HTTPSeeOther("/signin")
    state = request.app[STATE]
    assert state.watchlists is not None
    form = await request.post()
    values = {"name": str(form.get("name", "")).strip(), "description": str(form.get("description", "")).strip(),
              "radius": str(form.get("radius", DEFAULT_RADIUS_ARCSEC)).strip(), "public": form.get("public") == "yes",
              "text": str(form.get("text", ""))}
    origin = "the form"
    try:
        data, origin = uploaded(form)
        record = await create(state.watchlists, kind, str(user.id), values, data)
    except FILE_ERRORS as error:
        return list_page(request, kind, 400, values, f"Not saved: {origin}: {error}")
    except (*RECORD_ERRORS, ValueError) as error:
        return list_page(request, kind, 400, values, f"Not saved: {error}")
    except KafkaError as error:
        return list_page(request, kind, 503, values, f"Not saved: the broker did not answer ({error}); try again")
    size = len(record.sources) if kind is WATCHLISTS else None
    raise web.HTTPSeeOther(f"/{kind.path}?saved={record.id}" + (f"&n={size}" if size is not None else ""))


async def delete(request: web.Request, kind: Kind) -> web.StreamResponse:
    state = request.app[STATE]
    user = request[auth.USER]
    record_id = request.match_info["record_id"]
    record = kind.items(state.books).get(int(record_id)) if record_id.isdigit() else None
    if record is None or not can_see(user, record):
        return refusal(request, 404, f"There is no such {kind.noun}, or it is private and not yours.")
    if not can_change(user, record):
        return refusal(request, 403, f"Only the {kind.noun}'s owner may delete it.")
    assert state.watchlists is not None
    try:
        await (state.watchlists.delete_watchlist(record.id) if kind is WATCHLISTS else state.watchlists.delete_area(record.id))
    except KafkaError as error:
        return list_page(request, kind, 503, error=f"Not deleted: the broker did not answer ({error}); try again")
    except UnknownRecord:
        pass  # deleted meanwhile, from another page or copy: what was asked is done
    raise web.HTTPSeeOther(f"/{kind.path}?deleted={record.id}")


def references(request: web.Request) -> list[tuple[Kind, dict[str, Any], bool]]:
    """The watchlists and areas a filter of this user may name, for the edit page: (kind, fields, owned)."""
    user = request[auth.USER]
    books = request.app[STATE].books
    return [(kind, kind.fields(r), can_change(user, r)) for kind in (WATCHLISTS, AREAS) for r in seen(user, kind.items(books).values())]


def add_routes(app: web.Application) -> None:
    for kind in (WATCHLISTS, AREAS):
        def bound(handler: Callable[..., Any], kind: Kind = kind) -> Callable[[web.Request], Any]:
            async def handle(request: web.Request) -> Any:
                return await handler(request, kind)
            return handle

        app.router.add_get(f"/{kind.path}", bound(index))
        app.router.add_post(f"/{kind.path}", bound(upload))
        app.router.add_post(f"/{kind.path}/{{record_id}}/delete", bound(delete))
