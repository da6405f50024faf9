"""The worker's HTTP API for filters (JSON): list, create, read, update, delete, dry-run.

Reads answer from the worker's in-memory registry; writes go through `FilterAdmin`, the same
code the command line uses, and are visible to every worker once the registry record lands.
Every write needs a token (`auth.viewer`): the owner of a new filter is the token's user; only
the owner or an admin may change a filter; others see public filters without their e-mail
address (`pipeline.users.ownership`). Everything is checked before anything is written: the
fields (400 naming the field), the topic (409 if another filter's), the user's limits (429).
"""
from __future__ import annotations

import time
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import faust
import orjson
from faust.web import Request, Response, View

from agents.store.filters import FilterAdmin
from pipeline.filters import FilterError
from pipeline.streams.filter_record import FilterRecord, InvalidFilter, create, filter_sql, updated
from pipeline.streams.usage import Usage
from pipeline.streams.validation import InvalidField, parse_dry_run_request, parse_filter_request
from pipeline.users.admission import TopicTaken, claim_topic
from pipeline.users.fair_use import OverLimit, RateLimit, active_filters_over
from pipeline.users.ownership import filter_view, may_change, may_see
from pipeline.users.records import User
from .auth import forbidden, too_many, unauthorized, viewer
from .dry_runs import Busy, DryRunPool, PoolFailed

if TYPE_CHECKING:
    from .app import WorkerState

REFUSED = (InvalidFilter, FilterError, orjson.JSONDecodeError)
THREE_PART = ("selected", "tables", "conditions")  # Lasair's form of a new filter, instead of "sql"
THREE_PART_KEYS = frozenset(THREE_PART)


def filter_json(view: dict[str, Any], usage: Usage | None) -> dict[str, Any]:
    return {**view, "usage_today": asdict(usage or Usage())}


def refusal(view: View, error: Exception) -> Response:
    """400 naming the field or the SQL position; 409 for a topic that is another filter's."""
    body: dict[str, Any] = {"error": str(error)}
    if isinstance(error, (InvalidField, TopicTaken)):
        body["field"] = error.field
    if isinstance(error, FilterError):
        body.update(line=error.line, column=error.column, cause=error.cause, suggestions=list(error.suggestions))
    if isinstance(error, TopicTaken):
        body.update(topic=error.topic, clashes_with=error.other.id)
        return view.json(body, status=409)
    return view.json(body, status=400)


def with_sql(body: Any, tns_watchlist_id: int) -> Any:
    """A new filter's request with `sql` built from Lasair's three parts, if it has them (then checked as any other)."""
    if not isinstance(body, dict) or not THREE_PART_KEYS & body.keys():
        return body
    sql = filter_sql(body.get("sql"), *(body.get(k) for k in THREE_PART), tns_watchlist_id)
    return {**{k: v for k, v in body.items() if k not in THREE_PART}, "sql": sql}


def over(view: View, limit: OverLimit) -> Response:
    return too_many(view, limit.message, limit.retry_after_header, limit=limit.limit)


def unavailable(view: View, error: Busy | PoolFailed) -> Response:
    """429 with Retry-After when the dry-run pool is full (nothing was written); 503 if a pool process died."""
    if isinstance(error, Busy):
        return too_many(view, str(error), str(error.retry_after), retry_after=error.retry_after)
    return view.json({"error": str(error)}, status=503)


def register_filter_api(app: faust.App, worker: WorkerState) -> None:
    settings = worker.settings
    pool = DryRunPool.for_settings(settings, worker.kafka)
    dry_runs = RateLimit("dry_runs_per_minute", settings.dry_runs_per_minute, time.monotonic)

    @app.on_before_shutdown.connect
    async def close_pool(app: faust.App, **kwargs: Any) -> None:
        pool.close()

    def admin() -> FilterAdmin:
        async def send(topic: str, key: bytes, value: bytes | None, headers: Any) -> Any:
            return await app.producer.send_and_wait(topic, key, value, None, None, headers)

        return FilterAdmin(settings, worker.kafka, send, pool)

    def shown(who: User | None, record: FilterRecord) -> dict[str, Any] | None:
        view = filter_view(who, record)
        return None if view is None else filter_json(view, worker.usage.totals().get(record.id))

    def admissible(who: User, record: FilterRecord) -> OverLimit | None:
        """TopicTaken if its topic is another filter's, else the owner's active-filter limit, checked before anything is written."""
        claim_topic(worker.registry.records.values(), record, show_owner=who.admin)
        return active_filters_over(worker.registry.records.values(), record, settings.max_active_filters)

    @app.page("/filters")
    class Filters(View):
        async def get(self, request: Request) -> Response:
            who = await viewer(worker, request)
            return self.json([v for r in worker.registry.records.values() if (v := shown(who, r)) is not None])

        async def post(self, request: Request) -> Response:
            who = await viewer(worker, request)
            if who is None:
                return unauthorized(self)
            try:
                fields = parse_filter_request(with_sql(orjson.loads(await request.read()), settings.tns_watchlist_id), creating=True)
                fields.setdefault("quota_bytes", settings.default_quota_bytes)
                name, sql, mode = fields.pop("name"), fields.pop("sql"), fields.pop("mode")
                worker.watchlists.check_filter(sql, who)  # the watchlists and areas it names exist and its owner may see them
                limit = admissible(who, create(settings.topic_prefix, str(who.id), name, sql, mode, **fields))
                if limit is not None:
                    return over(self, limit)
                record, seeded = await admin().add(str(who.id), name, sql, mode, **fields)
            except REFUSED as error:
                return refusal(self, error)
            except (Busy, PoolFailed) as error:
                return unavailable(self, error)
            return self.json({**filter_json(filter_view(who, record) or {}, None), "seeded_records": seeded}, status=201)

    @app.page("/filters/{filter_id}")
    class OneFilter(View):
        async def get(self, request: Request, filter_id: str) -> Response:
            record = worker.registry.records.get(filter_id)
            if record is None:
                return self.json({"error": f"no filter {filter_id}"}, status=404)
            who = await viewer(worker, request)
            if not may_see(who, record):
                return self.json({"error": f"filter {filter_id} is not public and not yours"}, status=403 if who else 401)
            return self.json(shown(who, record))

        async def put(self, request: Request, filter_id: str) -> Response:
            found = await self.changeable(request, filter_id)
            if not isinstance(found, tuple):  # the answer why not
                return found
            who, record = found
            try:
                changes = parse_filter_request(orjson.loads(await request.read()), creating=False)
                if "sql" in changes:  # checked for the filter's owner, whoever changes it
                    worker.watchlists.check_filter(changes["sql"], worker.users.get(int(record.user)) if record.user.isdigit() else None)
                limit = admissible(who, updated(record, settings.topic_prefix, **changes))
                if limit is not None:
                    return over(self, limit)
                new, seeded = await admin().update(record, **changes)
            except REFUSED as error:
                return refusal(self, error)
            except (Busy, PoolFailed) as error:
                return unavailable(self, error)
            return self.json({**filter_json(filter_view(who, new) or {}, None), "seeded_records": seeded})

        async def delete(self, request: Request, filter_id: str) -> Response:
            found = await self.changeable(request, filter_id)
            if not isinstance(found, tuple):  # the answer why not
                return found
            await admin().delete(found[1])
            return self.json({"deleted": filter_id})

        async def changeable(self, request: Request, filter_id: str) -> tuple[User, FilterRecord] | Response:
            """The caller and the filter they may change, or the answer why not (401, 404, 403)."""
            who = await viewer(worker, request)
            record = worker.registry.records.get(filter_id)
            if who is None:
                return unauthorized(self)
            if record is None:
                return self.json({"error": f"no filter {filter_id}"}, status=404)
            if not may_change(who, record):
                return forbidden(self, f"filter {filter_id}")
            return who, record

    @app.page("/filters-dry-run")
    class DryRunView(View):
        async def post(self, request: Request) -> Response:
            who = await viewer(worker, request)
            if who is None:
                return unauthorized(self)
            try:
                asked = parse_dry_run_request(orjson.loads(await request.read()))
                record = create(settings.topic_prefix, str(who.id), "dry run", asked["sql"], asked["mode"])
            except REFUSED as error:
                return refusal(self, error)
            limit = dry_runs.take(who.id)
            if limit is not None:
                return over(self, limit)
            try:
                result = await pool(record, asked["limit"])
            except (Busy, PoolFailed) as error:
                return unavailable(self, error)
            return self.json({"alerts": result.alerts, "matched": result.records, "match_rate": result.rate,
                              "records": [orjson.loads(k.value) for k in result.kept]})
