"""Who is asking: the user of a request's `Authorization: Token <token>` header, for every HTTP page.

`viewer(state, request)` is the one entry point (filters, watchlists, areas, annotations): None
means no valid token (absent, malformed, unknown, revoked, or a disabled user), and each page
decides what None may do (read public records) and may not (write: 401). The token's hash is
checked in a thread, as scrypt takes tens of milliseconds and must not stall the event loop;
a verified token is remembered for `token_cache_seconds` (pipeline/users/tokens.py).
"""
from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from faust.web import Request, Response, View

from pipeline.users.records import User
from pipeline.users.tokens import AUTH_SCHEME, token_from_header

if TYPE_CHECKING:
    from .app import WorkerState


async def viewer(state: WorkerState, request: Request) -> User | None:
    """The request's user, or None without a valid token."""
    token = token_from_header(request.headers.get("Authorization"))
    if token is None:
        return None
    return await asyncio.to_thread(state.verifier.verify, token)


def unauthorized(view: View) -> Response:
    """401 for a write without a valid token, with the scheme to use (RFC 9110's WWW-Authenticate)."""
    return view.json({"error": f"a valid API token is needed: send the header 'Authorization: {AUTH_SCHEME} <token>'"
                               " (an operator issues one with `run.py user token ID`)"},
                     status=401, headers={"WWW-Authenticate": AUTH_SCHEME})


def forbidden(view: View, what: str) -> Response:
    """403: a valid token, but not the owner of `what` nor an admin."""
    return view.json({"error": f"{what} is not yours: only its owner or an admin may change it"}, status=403)


def too_many(view: View, message: str, retry_header: str | None, **extra: Any) -> Response:
    """429, with `Retry-After` when waiting helps (a rate), without when only the user's own action does (a count)."""
    headers = {"Retry-After": retry_header} if retry_header is not None else {}
    return view.json({"error": message, **extra}, status=429, headers=headers)
