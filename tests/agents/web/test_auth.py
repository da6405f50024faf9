"""Cookie flags and the CSRF comparison, on requests built in memory."""
from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from agents.web import auth


@pytest.mark.parametrize(("host", "headers", "secure"), [
    ("127.0.0.1:6080", {}, False), ("localhost:6080", {}, False), ("[::1]:6080", {}, False),
    ("alerts.example.org", {}, True), ("10.0.0.5:6080", {}, True),
    ("127.0.0.1:6080", {"X-Forwarded-Proto": "https"}, True),
])
def test_cookies_are_secure_except_on_plain_http_to_a_loopback_address(host: str, headers: dict[str, str], secure: bool) -> None:
    request = make_mocked_request("GET", "/", headers={"Host": host, **headers})
    response = web.Response()
    auth.sign_in(request, response, "1.token")
    for name in (auth.SESSION_COOKIE, auth.CSRF_COOKIE):
        morsel = response.cookies[name]
        assert morsel["httponly"] and morsel["samesite"] == "Strict" and morsel["path"] == "/"
        assert bool(morsel["secure"]) is secure, (host, name)


def test_csrf_needs_the_cookie_and_an_equal_field() -> None:
    with_cookie = make_mocked_request("POST", "/", headers={"Cookie": f"{auth.CSRF_COOKIE}=abc123"})
    without = make_mocked_request("POST", "/")
    assert auth.csrf_ok(with_cookie, "abc123")
    assert not auth.csrf_ok(with_cookie, "abc124") and not auth.csrf_ok(with_cookie, None) and not auth.csrf_ok(with_cookie, "")
    assert not auth.csrf_ok(without, "") and not auth.csrf_ok(without, "abc123")
