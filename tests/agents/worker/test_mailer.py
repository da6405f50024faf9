"""Sending digests to a real SMTP server (aiosmtpd on a free local port), and every failure as MailError."""
from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword

from agents.worker.mailer import MailError, send_message
from pipeline.email.digest import DigestState, EmailMatch, add_match
from pipeline.email.render import render_digest
from pipeline.settings import Settings
from pipeline.streams.filter_record import FilterRecord

NOW = 1_767_225_600.0
RECORD = FilterRecord(id="abc123", user="7", name="Nearby SNe", sql="SELECT ...", mode="email", topic="",
                      email="astro@example.org")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Collector:
    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 OK"


class Refuser(Collector):
    async def handle_RCPT(self, server: Any, session: Any, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        return "550 5.1.1 No such mailbox here"


class Logins:
    def __init__(self) -> None:
        self.seen: list[tuple[bytes, bytes]] = []

    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        self.seen.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"secret", handled=False)


def serve(handler: Collector, **kwargs: Any) -> Iterator[Settings]:
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    try:
        yield replace(Settings(), smtp_host="127.0.0.1", smtp_port=port,
                      mail_from="Alertflow <alertflow@broker.example>")
    finally:
        controller.stop()


@pytest.fixture
def collector() -> Collector:
    return Collector()


@pytest.fixture
def smtp(collector: Collector) -> Iterator[Settings]:
    yield from serve(collector)


def digest(settings: Settings) -> email.message.EmailMessage:
    state = DigestState("abc123")
    for source in (1, 2):
        state = add_match(state, EmailMatch("abc123", 1, 40 + source, source, {"diaObjectId": 40 + source, "mag": 19.5},
                                            "2026-01-01 00:00:00", NOW + source), NOW, 100)
    return render_digest(RECORD, state, mail_from=settings.mail_from, object_url=settings.object_url, now=NOW)


async def test_server_receives_the_digest(smtp: Settings, collector: Collector) -> None:
    await send_message(digest(smtp), smtp)
    [envelope] = collector.envelopes
    assert (envelope.mail_from, envelope.rcpt_tos) == ("alertflow@broker.example", ["astro@example.org"])
    received = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
    assert received["From"] == "Alertflow <alertflow@broker.example>" and received["To"] == "astro@example.org"
    assert received["Subject"] == 'alertflow: "Nearby SNe": 2 objects'
    text = received.get_body(preferencelist=("plain",)).get_content()
    html = received.get_body(preferencelist=("html",)).get_content()
    assert "https://lasair.lsst.ac.uk/objects/42/" in text and 'href="https://lasair.lsst.ac.uk/objects/41/"' in html


async def test_login_with_user_and_password(collector: Collector) -> None:
    logins = Logins()
    for settings in serve(collector, authenticator=logins, auth_require_tls=False):
        await send_message(digest(settings), replace(settings, smtp_user="broker", smtp_password="secret"))
        with pytest.raises(MailError, match="535"):
            await send_message(digest(settings), replace(settings, smtp_user="broker", smtp_password="wrong"))
    assert logins.seen[0] == (b"broker", b"secret") and set(logins.seen[1:]) == {(b"broker", b"wrong")}
    assert len(collector.envelopes) == 1


async def test_refused_recipient_is_a_mail_error() -> None:
    for settings in serve(Refuser()):
        with pytest.raises(MailError, match=r"recipient refused: astro@example.org: 550 5.1.1 No such mailbox") as info:
            await send_message(digest(settings), settings)
    assert "\n" not in str(info.value)


async def test_security_is_what_the_settings_say(smtp: Settings, collector: Collector) -> None:
    with pytest.raises(MailError, match="STARTTLS"):  # this server offers no STARTTLS: never sent in clear
        await send_message(digest(smtp), replace(smtp, smtp_security="starttls"))
    with pytest.raises(MailError):  # a TLS handshake with a plain-text server
        await send_message(digest(smtp), replace(smtp, smtp_security="tls"), timeout=5)
    assert collector.envelopes == []
    with pytest.raises(ValueError, match="smtp_security 'ssl'"):
        await send_message(digest(smtp), replace(smtp, smtp_security="ssl"))


async def test_no_server_is_a_quick_mail_error() -> None:
    settings = replace(Settings(), smtp_host="127.0.0.1", smtp_port=free_port())
    started = time.monotonic()
    with pytest.raises(MailError, match=f"SMTP 127.0.0.1:{settings.smtp_port}"):
        await send_message(digest(settings), settings)
    assert time.monotonic() - started < 5


async def test_silent_server_times_out() -> None:
    async def never_greet(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()
        writer.close()

    server = await asyncio.start_server(never_greet, "127.0.0.1", 0)
    settings = replace(Settings(), smtp_host="127.0.0.1", smtp_port=server.sockets[0].getsockname()[1])
    async with server:
        started = time.monotonic()
        with pytest.raises(MailError, match="[Tt]imed out|[Tt]imeout"):
            await send_message(digest(settings), settings, timeout=0.5)
        assert time.monotonic() - started < 5
