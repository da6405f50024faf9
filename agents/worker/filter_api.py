"""The worker's HTTP API for filters (JSON): list, create, read, update, delete, dry-run.

Reads answer from the worker's in-memory registry; writes go through `FilterAdmin`, the same
code the command line uses, and are visible to every worker once the registry record lands.
"""
from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import faust
import orjson
from faust.web import Request, Response, View

from agents.store.filters import FilterAdmin
from pipeline.filters import FilterError
from pipeline.streams.filter_record import FilterRecord, InvalidFilter, create, filter_sql
from pipeline.streams.usage import Usage
from .dry_runs import Busy, DryRunPool, PoolFailed
from .watchlist_api import viewer

if TYPE_CHECKING:
    from .app import WorkerState

MAX_SHOWN = 100  # records a dry run answers with: each is kept in memory until the run ends
EDITABLE = {"name", "sql", "mode", "description", "active", "public", "email", "quota_bytes"}
THREE_PART = ("selected", "tables", "conditions")  # Lasair's form of a new filter, instead of "sql"


def filter_json(record: FilterRecord, usage: Usage | None) -> dict[str, Any]:
    return {**asdict(record), "usage_today": asdict(usage or Usage())}


def refusal(view: View, error: Exception) -> Response:
    body: dict[str, Any] = {"error": str(error)}
    if isinstance(error, FilterError):
        body.update(line=error.line, column=error.column, cause=error.cause, suggestions=list(error.suggestions))
    return view.json(body, status=400)


def new_filter_sql(body: dict[str, Any], tns_watchlist_id: int) -> str:
    """A new filter's SQL: `sql`, or built from Lasair's three parts."""
    return filter_sql(body.get("sql"), *(body.get(k) for k in THREE_PART), tns_watchlist_id)


async def body_of(request: Request) -> dict[str, Any]:
    body = orjson.loads(await request.read())
    if not isinstance(body, dict):
        raise InvalidFilter("the request body must be a JSON object")
    return body


def unavailable(view: View, error: Busy | PoolFailed) -> Response:
    """429 with Retry-After when the dry-run pool is full (nothing was written); 503 if a pool process died."""
    if isinstance(error, Busy):
        return view.json({"error": str(error), "retry_after": error.retry_after}, status=429,
                         headers={"Retry-After": str(error.retry_after)})
    return view.json({"error": str(error)}, status=503)


def register_filter_api(app: faust.App, worker: WorkerState) -> None:
    pool = DryRunPool.for_settings(worker.settings, worker.kafka)

    @app.on_before_shutdown.connect
    async def close_pool(app: faust.App, **kwargs: Any) -> None:
        pool.close()

    def admin() -> FilterAdmin:
        async def send(topic: str, key: bytes, value: bytes | None, headers: Any) -> Any:
            return await app.producer.send_and_wait(topic, key, value, None, None, headers)

        return FilterAdmin(worker.settings, worker.kafka, send, pool)

    def found(filter_id: str) -> FilterRecord | None:
        return worker.registry.records.get(filter_id)

    @app.page("/filters")
    class Filters(View):
        async def get(self, request: Request) -> Response:
            totals = worker.usage.totals()
            return self.json([filter_json(r, totals.get(r.id)) for r in worker.registry.records.values()])

        async def post(self, request: Request) -> Response:
            try:
                body = await body_of(request)
                unknown = set(body) - EDITABLE - {"user", *THREE_PART}
                if unknown:
                    raise InvalidFilter(f"unknown fields: {', '.join(sorted(unknown))}")
                fields = {k: body[k] for k in EDITABLE - {"name", "sql", "mode"} if k in body}
                sql = new_filter_sql(body, worker.settings.tns_watchlist_id)
                worker.watchlists.check_filter(sql, await viewer(request))  # the watchlists and areas it names exist and may be seen
                record, seeded = await admin().add(str(body.get("user", "")), body.get("name", ""), sql,
                                                   body.get("mode", "plain"), **fields)
            except (InvalidFilter, FilterError, orjson.JSONDecodeError, TypeError) as error:
                return refusal(self, error)
            except (Busy, PoolFailed) as error:
                return unavailable(self, error)
            return self.json({**filter_json(record, None), "seeded_records": seeded}, status=201)

    @app.page("/filters/{filter_id}")
    class OneFilter(View):
        async def get(self, request: Request, filter_id: str) -> Response:
            record = found(filter_id)
            if record is None:
                return self.json({"error": f"no filter {filter_id}"}, status=404)
            return self.json(filter_json(record, worker.usage.totals().get(filter_id)))

        async def put(self, request: Request, filter_id: str) -> Response:
            record = found(filter_id)
            if record is None:
                return self.json({"error": f"no filter {filter_id}"}, status=404)
            try:
                changes = await body_of(request)
                unknown = set(changes) - EDITABLE
                if unknown:
                    raise InvalidFilter(f"fields that cannot be changed: {', '.join(sorted(unknown))}")
                if "sql" in changes:
                    worker.watchlists.check_filter(changes["sql"], await viewer(request))
                new, seeded = await admin().update(record, **changes)
            except (InvalidFilter, FilterError, orjson.JSONDecodeError, TypeError) as error:
                return refusal(self, error)
            except (Busy, PoolFailed) as error:
                return unavailable(self, error)
            return self.json({**filter_json(new, None), "seeded_records": seeded})

        async def delete(self, request: Request, filter_id: str) -> Response:
            record = found(filter_id)
            if record is None:
                return self.json({"error": f"no filter {filter_id}"}, status=404)
            await admin().delete(record)
            return self.json({"deleted": filter_id})

    @app.page("/filters-dry-run")
    class DryRunView(View):
        async def post(self, request: Request) -> Response:
            try:
                body = await body_of(request)
                record = create(worker.settings.topic_prefix, "0", "dry run", body.get("sql", ""), body.get("mode", "plain"))
                limit = int(body.get("limit", 10))
                if limit > MAX_SHOWN:
                    raise InvalidFilter(f"limit: at most {MAX_SHOWN} records are shown, not {limit}")
            except (InvalidFilter, FilterError, orjson.JSONDecodeError, TypeError, ValueError) as error:
                return refusal(self, error)
            try:
                result = await pool(record, limit)
            except (Busy, PoolFailed) as error:
                return unavailable(self, error)
            return self.json({"alerts": result.alerts, "matched": result.records, "match_rate": result.rate,
                              "records": [orjson.loads(k.value) for k in result.kept]})
