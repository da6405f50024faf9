"""What every page handler shares: the app's keys and the page renderer (kept apart from app.py, which imports the views)."""
from __future__ import annotations

from typing import Any

import jinja2
from aiohttp import web

from . import auth
from .state import WebState
from .topic_view import TopicViews

STATE = web.AppKey("state", WebState)
TOPICS = web.AppKey("topics", TopicViews)
TEMPLATES = web.AppKey("templates", jinja2.Environment)


def render(request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
    """A page from `template`, with the signed-in user and this session's CSRF token."""
    user = request.get(auth.USER)
    html = request.app[TEMPLATES].get_template(template).render(
        user=user, csrf=auth.csrf_token(request), csrf_field=auth.CSRF_FIELD, request=request, **context)
    response = web.Response(text=html, content_type="text/html", status=status)
    auth.remember_csrf(request, response)
    return response


def refusal(request: web.Request, status: int, message: str) -> web.Response:
    return render(request, "message.html", status=status, title={403: "Not allowed", 404: "Not found"}.get(status, "Refused"),
                  message=message)
