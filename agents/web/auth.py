"""Who is asking, and whether a form really came from our page.

Sign-in keeps the user's API token in a cookie (HttpOnly: no script reads it; SameSite=Strict: no
other site's page sends it). Secure is set unless the page is plain http on a loopback address:
Chromium and Firefox accept Secure cookies from http://localhost, Safari does not, and loopback
traffic never crosses a network, so there the flag buys nothing and would only break sign-in.
Anywhere else plain http gets Secure cookies (which the browser then refuses to send back), and the
sign-in page says to serve the pages over https.

CSRF: every form carries a per-session random token in a hidden field that must equal the one in
an HttpOnly, SameSite=Strict cookie (double submit). It is made on first visit and replaced at
sign-in and sign-out, and kept by the browser only, so any copy of the server can check it.
"""
from __future__ import annotations

import hmac
import ipaddress
import secrets

from aiohttp import web

from pipeline.users.records import User
from pipeline.users.tokens import MAX_TOKEN_CHARS
from .state import WebState

SESSION_COOKIE = "alertflow_token"
CSRF_COOKIE = "alertflow_csrf"
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"
SESSION_SECONDS = 7 * 24 * 3600
USER: web.RequestKey[User | None] = web.RequestKey("user")  # set for every request by the app's middleware
CSRF: web.RequestKey[str] = web.RequestKey("csrf", str)


def is_loopback_http(request: web.Request) -> bool:
    if request.secure or request.headers.get("X-Forwarded-Proto", "").lower() == "https":
        return False
    host = (request.url.host or "").strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def set_cookie(request: web.Request, response: web.StreamResponse, name: str, value: str, max_age: int | None = None) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/", httponly=True, samesite="Strict",
                        secure=not is_loopback_http(request))


def csrf_token(request: web.Request) -> str:
    """This session's CSRF token (a new one if the browser has none: set on the response by `remember_csrf`)."""
    token = request.get(CSRF) or request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
    request[CSRF] = token
    return token


def remember_csrf(request: web.Request, response: web.StreamResponse) -> None:
    if request.get(CSRF) and request.cookies.get(CSRF_COOKIE) != request[CSRF]:
        set_cookie(request, response, CSRF_COOKIE, request[CSRF])


def csrf_ok(request: web.Request, submitted: str | None) -> bool:
    expected = request.cookies.get(CSRF_COOKIE)
    return bool(expected and submitted) and hmac.compare_digest(expected.encode(), str(submitted).encode())


def current_user(request: web.Request, state: WebState) -> User | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token or len(token) > MAX_TOKEN_CHARS or state.verifier is None:
        return None
    return state.verifier.verify(token)


def sign_in(request: web.Request, response: web.StreamResponse, token: str) -> None:
    set_cookie(request, response, SESSION_COOKIE, token, SESSION_SECONDS)
    set_cookie(request, response, CSRF_COOKIE, secrets.token_urlsafe(24))


def sign_out(request: web.Request, response: web.StreamResponse) -> None:
    response.del_cookie(SESSION_COOKIE, path="/")
    set_cookie(request, response, CSRF_COOKIE, secrets.token_urlsafe(24))
