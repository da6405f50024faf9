"""The aiohttp application: templates, the CSRF check on every POST, routes, start and stop.

Served by `run.py web`; stateless (see state.py), so more copies can run behind one address.
"""
from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path
from typing import Any

import jinja2
import orjson
from aiohttp import web

from agents.kafka.connection import KafkaConnection
from pipeline.context.areas import MAX_AREA_FILE_BYTES
from pipeline.context.watchlist_limits import MAX_FILE_BYTES
from pipeline.settings import Settings
from . import auth
from .pages import STATE, TEMPLATES, TOPICS, refusal
from .state import WebState
from .topic_view import TopicViews

log = logging.getLogger("alertflow.web")
HERE = Path(__file__).parent
MAX_BODY_BYTES = max(MAX_FILE_BYTES, MAX_AREA_FILE_BYTES) + 64 * 1024  # an uploaded watchlist or area file and the form around it


@web.middleware
async def csrf_and_user(request: web.Request, handler: Any) -> web.StreamResponse:
    """Every POST carries this session's CSRF token (form field, or header for the JSON check), or gets 403."""
    request[auth.USER] = auth.current_user(request, request.app[STATE])
    if request.method == "POST":
        submitted = request.headers.get(auth.CSRF_HEADER)
        if submitted is None and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            try:
                submitted = (await request.post()).get(auth.CSRF_FIELD)
            except web.HTTPRequestEntityTooLarge:
                return refusal(request, 413, f"Not saved: the upload is over {MAX_BODY_BYTES // 2**20} MB, "
                                             "the limit for a watchlist or area file and its form.")
        if not auth.csrf_ok(request, submitted if isinstance(submitted, str) else None):
            return refusal(request, 403, "This form is out of date or did not come from these pages. Reload the page and try again.")
    response = await handler(request)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'")
    return response


def cell(value: Any) -> str:
    """A record's value in a table cell: SQL's NULL for None, JSON for lists and objects."""
    if value is None:
        return "NULL"
    if isinstance(value, (dict, list)):
        return orjson.dumps(value).decode()
    return str(value)


def create_web_app(settings: Settings, kafka: KafkaConnection) -> web.Application:
    from . import views_edit, views_pages, views_watchlists

    app = web.Application(middlewares=[csrf_and_user], client_max_size=MAX_BODY_BYTES)
    app[STATE] = WebState(settings, kafka)
    app[TOPICS] = TopicViews(kafka)
    app[TEMPLATES] = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                                        trim_blocks=True, lstrip_blocks=True)
    app[TEMPLATES].filters["cell"] = cell
    views_edit.add_routes(app)  # first: /filters/new before /filters/{filter_id}
    views_pages.add_routes(app)
    views_watchlists.add_routes(app)
    app.router.add_static("/static", HERE / "static")

    async def start(app: web.Application) -> None:
        await app[STATE].start()

    async def stop(app: web.Application) -> None:
        await app[STATE].stop()

    app.on_startup.append(start)
    app.on_cleanup.append(stop)
    return app


def serve(settings: Settings, kafka: KafkaConnection) -> None:
    """Run until SIGINT or SIGTERM (then stop cleanly), printing the address once the topics are read."""
    async def main() -> None:
        stopping = asyncio.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            asyncio.get_running_loop().add_signal_handler(signum, stopping.set)
        runner = web.AppRunner(create_web_app(settings, kafka), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, settings.ui_host, settings.ui_port)
        await site.start()
        print(f"web pages on http://{settings.ui_host}:{settings.ui_port}/", flush=True)
        try:
            await stopping.wait()
        finally:
            await runner.cleanup()

    asyncio.run(main())
