"""Making and changing filters: the form, the check as you type, the dry run, save and delete.

One form does all three steps, as buttons: Check, Run on recent alerts, Save. Without JavaScript
each is a POST that re-renders the form; with it, the SQL is also checked as it is typed. The SQL
is the text area's, or built from Lasair's three-part form (selected, tables, conditions) when
that is filled in: the page then shows the SQL it built.
"""
from __future__ import annotations

import asyncio
from typing import Any

import orjson
from aiohttp import web
from aiokafka.errors import KafkaError

from agents.store.filters import recent_messages
from pipeline.context.tables import CONTEXT_TABLES
from pipeline.decode.schema_lookup import SchemaResolver
from pipeline.features.columns import COLUMNS
from pipeline.features.objects_ext import OBJECTS_EXT_COLUMNS
from pipeline.filters import FilterError, compile_filter
from pipeline.streams import filter_record
from pipeline.streams.dry_run import Tally, tally_messages
from pipeline.streams.filter_record import FilterRecord, InvalidFilter, filter_sql
from pipeline.streams.topics import topic_clash
from pipeline.streams.validation import parse_filter_request
from pipeline.users.fair_use import active_filters_over
from pipeline.users.ownership import may_change
from pipeline.users.watchlist_views import refused_references
from . import auth
from .pages import STATE, refusal, render
from .state import WebState
from .topic_view import SHOWN_RECORDS, shown
from .views_watchlists import references

STREAMING = (("none", "None (saved, not running)"), ("email", "E-mail digest"), ("plain", "Kafka: plain"),
             ("lite", "Kafka: lite light curve"), ("full", "Kafka: full alert"))
TABLES = [("objects", "one row per object: Lasair's object features", COLUMNS),
          ("objects_ext", "64 more diaObject columns (also as objects.X)", OBJECTS_EXT_COLUMNS),
          *((t.name, t.description, t.columns) for t in CONTEXT_TABLES.values())]
PARTS = ("selected", "tables", "conditions")  # Lasair's three-part form
NEW_SQL = "SELECT objects.diaObjectId, objects.ra, objects.decl\nFROM objects\nWHERE objects.nDiaSources >= 3"


def compile_report(sql: str) -> dict[str, Any]:
    """The compiler's verdict as the page and the JSON check show it."""
    try:
        compiled = compile_filter(sql)
    except FilterError as error:
        lines = sql.splitlines() or [""]
        return {"ok": False, "line": error.line, "column": error.column, "cause": error.cause,
                "suggestions": list(error.suggestions), "message": str(error),
                "source": lines[min(error.line, len(lines)) - 1]}
    return {"ok": True, "fields": list(compiled.output_fields)}


async def dry_run_recent(state: WebState, sql: str, mode: str) -> Tally:
    """The dry run of `sql` over the recent alerts, off the page server's event loop (decoding is
    CPU work): the one place to switch to the worker's pool or API."""
    record = filter_record.create(state.settings.topic_prefix, "0", "dry run", sql, mode if mode in ("plain", "lite", "full") else "plain")
    messages = await recent_messages(state.settings, state.kafka)
    schemas = SchemaResolver(state.settings.schema_dir, state.settings.schema_registry_url)
    return await asyncio.to_thread(tally_messages, record, messages, schemas, SHOWN_RECORDS)


def form_values(form: Any, old: FilterRecord | None) -> dict[str, Any]:
    """What the form holds, in the types of a filter request (checked by parse_filter_request)."""
    streaming = str(form.get("streaming", "plain"))
    values: dict[str, Any] = {"name": str(form.get("name", "")), "sql": str(form.get("sql", "")),
                              "description": str(form.get("description", "")), "public": form.get("public") == "yes",
                              "active": streaming != "none",
                              "mode": (old.mode if old else "plain") if streaming == "none" else streaming}
    address = str(form.get("email", "")).strip()
    values["email"] = address or None
    values.update({part: str(form.get(part, "")) for part in PARTS})
    return values


def built_sql(state: WebState, values: dict[str, Any]) -> str | None:
    """Put the SQL built from the three-part form (if it is filled in) into `values`; the one-line
    reason if it cannot be built."""
    if not (values["selected"].strip() or values["tables"].strip()):
        return None
    try:
        values["sql"] = filter_sql(None, values["selected"], values["tables"] or None, values["conditions"], state.settings.tns_watchlist_id)
    except FilterError as error:
        return error.cause
    except InvalidFilter as error:
        return str(error)
    return None


def check_references(state: WebState, request: web.Request, sql: str) -> None:
    """InvalidFilter if the SQL names watchlists or areas that do not exist or the user may not see."""
    problems = refused_references(compile_filter(sql), request[auth.USER], state.books.watchlists.items, state.books.areas.items,
                                  everyone={state.settings.tns_watchlist_id})
    if problems:
        raise InvalidFilter("; ".join(problems))


def page(request: web.Request, old: FilterRecord | None, values: dict[str, Any], status: int = 200, **extra: Any) -> web.Response:
    streaming = values["mode"] if values.get("active", True) else "none"
    return render(request, "edit.html", status=status, old=old, v=values, streaming=streaming, choices=STREAMING,
                  tables=TABLES, references=references(request), prefix=request.app[STATE].settings.topic_prefix, **extra)


async def save(request: web.Request, state: WebState, old: FilterRecord | None, values: dict[str, Any]) -> web.StreamResponse:
    user = request[auth.USER]
    assert state.admin is not None
    check_references(state, request, values["sql"])
    asked = {k: v for k, v in values.items() if k not in PARTS}
    fields = parse_filter_request(asked if old is None else {k: v for k, v in asked.items() if v != getattr(old, k)} or
                                  {"name": values["name"]}, creating=old is None)
    if old is None:
        candidate = filter_record.create(state.settings.topic_prefix, str(user.id), **fields)
    else:
        candidate = filter_record.updated(old, state.settings.topic_prefix, **fields)
    over = active_filters_over(state.filters.records.values(), candidate, state.settings.max_active_filters)
    if over is not None:
        raise InvalidFilter(over.message)
    clash = topic_clash(state.filters.records.values(), candidate)
    if clash is not None:
        raise InvalidFilter(f"name: its topic {candidate.topic} would be the same as that of filter {clash.name!r} "
                            f"({'yours' if clash.user == str(user.id) else 'another user'}); choose another name")
    if old is None:
        name, sql, mode = fields.pop("name"), fields.pop("sql"), fields.pop("mode")
        record, seeded = await state.admin.add(str(user.id), name, sql, mode, **fields)
        kind = "new" if record.streams_to_kafka else "email"
    else:
        record, seeded = await state.admin.update(old, **fields)
        kind = "changed" if filter_record.content_changed(old, record) and record.streams_to_kafka else "settings"
    state.saved(record, record.id)
    raise web.HTTPSeeOther(f"/filters/{record.id}?saved={kind}&n={seeded}")


async def handle_form(request: web.Request, old: FilterRecord | None) -> web.StreamResponse:
    state = request.app[STATE]
    form = await request.post()
    values = form_values(form, old)
    action = form.get("action", "check")
    parts_error = built_sql(state, values)
    if parts_error is not None:
        return page(request, old, values, status=400, parts_error=parts_error)
    report = compile_report(values["sql"])
    if action == "save" and report["ok"]:
        try:
            return await save(request, state, old, values)
        except (InvalidFilter, FilterError, ValueError) as error:
            return page(request, old, values, status=400, report=report, error=str(error))
        except KafkaError as error:
            return page(request, old, values, status=503, report=report, error=f"the broker did not answer ({error}); try again")
    run = None
    if action == "run" and report["ok"]:
        assert state.dry_runs is not None
        over = state.dry_runs.take(request[auth.USER].id)  # type: ignore[union-attr]
        if over is not None:
            response = page(request, old, values, status=429, report=report, error=f"Not run: dry runs {over.message}")
            response.headers["Retry-After"] = over.retry_after_header or "60"
            return response
        try:
            result = await dry_run_recent(state, values["sql"], values["mode"])
        except KafkaError as error:
            return page(request, old, values, status=503, report=report, error=f"Not run: the broker did not answer ({error})")
        run = {"alerts": result.alerts, "matched": result.records, "rate": result.rate,
               "records": [shown(0, None, kept.value) for kept in result.kept]}
    return page(request, old, values, status=200 if report["ok"] else 400, report=report, run=run)


async def new_filter(request: web.Request) -> web.StreamResponse:
    if request[auth.USER] is None:
        raise web.HTTPSeeOther("/signin")
    if request.method == "POST":
        return await handle_form(request, None)
    values = {"name": "", "sql": NEW_SQL, "description": "", "public": False, "active": True, "mode": "lite", "email": None,
              **dict.fromkeys(PARTS, "")}
    return page(request, None, values, report=compile_report(values["sql"]))


def own_filter(request: web.Request) -> FilterRecord | web.Response:
    record = request.app[STATE].filters.records.get(request.match_info["filter_id"])
    if record is None or not (record.public or may_change(request[auth.USER], record)):
        return refusal(request, 404, "There is no such filter, or it is private and not yours.")
    if not may_change(request[auth.USER], record):
        return refusal(request, 403, "Only the filter's owner may change it. You may copy its SQL into a new filter of your own.")
    return record


async def edit_filter(request: web.Request) -> web.StreamResponse:
    record = own_filter(request)
    if isinstance(record, web.Response):
        return record
    if request.method == "POST":
        return await handle_form(request, record)
    return page(request, record, {**{k: getattr(record, k) for k in ("name", "sql", "description", "public", "active", "mode")},
                                  "email": record.email, **dict.fromkeys(PARTS, "")}, report=compile_report(record.sql))


async def delete_filter(request: web.Request) -> web.StreamResponse:
    record = own_filter(request)
    if isinstance(record, web.Response):
        return record
    state = request.app[STATE]
    assert state.admin is not None
    await state.admin.delete(record)
    state.saved(None, record.id)
    raise web.HTTPSeeOther("/")


async def check(request: web.Request) -> web.Response:
    """JSON for the check as you type: {ok, fields} or {ok: false, line, column, cause, suggestions}."""
    try:
        body = orjson.loads(await request.read())
        sql = body["sql"] if isinstance(body, dict) and isinstance(body.get("sql"), str) else None
    except orjson.JSONDecodeError:
        sql = None
    if sql is None:
        return web.json_response({"ok": False, "message": "send {\"sql\": \"...\"}"}, status=400)
    return web.json_response(compile_report(sql))


def add_routes(app: web.Application) -> None:
    app.router.add_route("*", "/filters/new", new_filter)
    app.router.add_route("*", "/filters/{filter_id}/edit", edit_filter)
    app.router.add_post("/filters/{filter_id}/delete", delete_filter)
    app.router.add_post("/check", check)
