"""Pages to read: sign in and out, the list of filters, one filter's page."""
from __future__ import annotations

import time
from typing import Any

from aiohttp import web
from aiokafka.errors import KafkaError

from agents.cli.status import human_bytes, quota_text, utc_text
from pipeline.streams.filter_record import FilterRecord
from pipeline.streams.usage import Usage
from pipeline.users.ownership import may_change, may_see, owns
from . import auth
from .charts import hourly_bars, light_curve, per_hour
from .consumer_code import consumer_code
from .pages import STATE, TOPICS, refusal, render

SAVED_MESSAGES = {
    "new": "Filter saved. It was run on recent alerts to put up to 10 records in its stream: {n} there now.",
    "changed": "Filter saved. The old records were deleted, and the filter was re-run on recent alerts to put up to 10 records "
               "in the stream: {n} there now. More arrive as new alerts match.",
    "settings": "Settings saved. The stream's records were kept (the SQL, streaming mode and name did not change).",
    "email": "Filter saved. Matches are sent in one e-mail digest a day.",
}


def filter_row(record: FilterRecord, usage: Usage | None, pending: int | None) -> dict[str, Any]:
    u = usage or Usage()
    kafka = record.streams_to_kafka
    return {"record": record, "matches": u.matches, "records": u.records if kafka else None,
            "quota": quota_text(u.bytes, record.quota_bytes) if kafka else None,
            "last": utc_text(u.last_record) if kafka and u.last_record else None,
            "pending": pending if not kafka else None}


async def index(request: web.Request) -> web.Response:
    state = request.app[STATE]
    user = request[auth.USER]
    totals = state.usage.totals()
    records = sorted(state.filters.records.values(), key=lambda r: (r.name.lower(), r.id))
    mine = [filter_row(r, totals.get(r.id), state.digests.pending.get(r.id)) for r in records if owns(user, r)]
    public = [r for r in records if r.public and not owns(user, r)]
    return render(request, "index.html", mine=mine, public=public, day=state.usage.day)


async def signin_page(request: web.Request) -> web.Response:
    return render(request, "signin.html", insecure=not request.secure and not auth.is_loopback_http(request)
                  and request.headers.get("X-Forwarded-Proto") != "https")


async def signin(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    token = str(form.get("token", "")).strip()
    state = request.app[STATE]
    user = state.verifier.verify(token) if state.verifier and token else None
    if user is None:
        return render(request, "signin.html", status=401, error="That token is not valid: it may have been replaced "
                      "by a newer one (run.py user token ID), or the user is disabled.")
    response = web.HTTPSeeOther("/")
    auth.sign_in(request, response, token)
    raise response


async def signout(request: web.Request) -> web.StreamResponse:
    response = web.HTTPSeeOther("/")
    auth.sign_out(request, response)
    raise response


def visible_filter(request: web.Request) -> FilterRecord | None:
    record = request.app[STATE].filters.records.get(request.match_info["filter_id"])
    return record if record is not None and may_see(request[auth.USER], record) else None


async def filter_page(request: web.Request) -> web.Response:
    record = visible_filter(request)
    if record is None:
        return refusal(request, 404, "There is no such filter, or it is private and not yours.")
    state = request.app[STATE]
    user = request[auth.USER]
    view, unread = None, None
    if record.streams_to_kafka:
        try:
            view = await request.app[TOPICS].read(record.topic)
        except KafkaError as error:
            unread = f"The topic could not be read just now: the broker did not answer ({error})."
    chart = None
    if view is not None:
        counts, first = per_hour(view.timestamps_ms, time.time())
        chart = hourly_bars(counts, first, f"Records on {record.topic} per hour, last 7 days")
    records = [{"time": utc_text(r.timestamp_ms / 1000), "key": r.key, "fields": r.fields,
                "plot": light_curve(r.alert, f"Light curve of {r.key}") if record.mode in ("lite", "full") else None}
               for r in (view.latest if view else [])]
    saved = request.query.get("saved")
    message = SAVED_MESSAGES.get(saved or "", "").format(n=request.query.get("n", "0")) if saved else None
    row = filter_row(record, state.usage.totals().get(record.id), state.digests.pending.get(record.id))
    return render(request, "filter.html", f=record, row=row, records=records, chart=chart, message=message, unread=unread,
                  may_change=may_change(user, record), show_private=may_change(user, record),
                  code=consumer_code(state.settings, state.kafka, record.topic), human_bytes=human_bytes)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/", index)
    app.router.add_get("/signin", signin_page)
    app.router.add_post("/signin", signin)
    app.router.add_post("/signout", signout)
    app.router.add_get("/filters/{filter_id}", filter_page)
