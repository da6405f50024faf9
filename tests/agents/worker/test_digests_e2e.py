"""E-mail digests end to end: a worker process, a real SMTP server, and a clock moved through days."""
from __future__ import annotations

import asyncio
import email
import email.policy
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from agents.cli.replay import produce
from agents.dev.broker import free_port
from agents.dev.worker_process import WorkerProcess
from agents.kafka.admin import ensure_topics
from agents.kafka.topology import core_topics
from pipeline.decode.avro_codec import bundled_codec
from pipeline.features.ingest import ingest
from pipeline.settings import Settings
from pipeline.streams.filter_record import FilterRecord
from pipeline.synthetic.alerts import synthetic_messages
from tests.agents.worker.test_streams import add_filter
from tests.conftest import connection

pytestmark = pytest.mark.integration

T0 = 1_800_000_000.0
HOUR = 3600.0
SQL = "SELECT objects.diaObjectId, objects.nDiaSources, objects.decl AS declination FROM objects"


class Mailbox:
    """aiosmtpd handler: every message the server accepted, parsed."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"


class ClockFile:
    """The worker's clock: a file it reads; replaced atomically so a read never sees it half-written."""

    def __init__(self, path: Path, start: float):
        self.path = path
        self.set(start)

    def set(self, when: float) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(repr(when))
        os.replace(tmp, self.path)


class SmtpServer:
    """A real SMTP server on a fixed port that can go down and come back (a new Controller each time)."""

    def __init__(self, mailbox: Mailbox, port: int):
        self.mailbox, self.port = mailbox, port
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


def wait_for(condition: Callable[[], Any], what: str, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)
    return result


@pytest.fixture
def mail_settings(settings: Settings, tmp_path: Path) -> Iterator[tuple[Settings, Mailbox, SmtpServer, ClockFile]]:
    mailbox = Mailbox()
    port = free_port()
    server = SmtpServer(mailbox, port)
    server.start()
    clock = ClockFile(tmp_path / "clock", T0)
    s = replace(settings, smtp_host="127.0.0.1", smtp_port=port, clock_file=str(clock.path), digest_check_seconds=0.3,
                mail_from="broker@example.org", object_url="https://example.org/objects/{diaObjectId}")
    asyncio.run(ensure_topics(connection(s), core_topics(s)))
    try:
        yield s, mailbox, server, clock
    finally:
        server.stop()


def replay(settings: Settings, n: int, seed: int) -> tuple[dict[int, int], list]:
    messages = list(synthetic_messages(n, seed))
    items = [ingest(m, bundled_codec) for m in messages]
    return asyncio.run(produce(connection(settings), settings.alert_topic, messages, progress=False)), items


def digest_of(worker: WorkerProcess, f: FilterRecord) -> dict[str, Any]:
    status, page = worker.get("/digests")
    return page["filters"].get(f.id, {}) if status == 200 else {}  # 503 while the worker starts


def wait_pending(worker: WorkerProcess, f: FilterRecord, n: int) -> None:
    wait_for(lambda: digest_of(worker, f).get("pending") == n, f"{n} pending matches")


def quiet_checks(worker: WorkerProcess, n: int = 3) -> None:
    """Let the digest timer run `n` more times: what it did not send by then, it will not send."""
    start = worker.get("/digests")[1]["checks"]
    wait_for(lambda: worker.get("/digests")[1]["checks"] >= start + n, f"{n} digest checks")


def body(message: EmailMessage, subtype: str) -> str:
    return message.get_body(preferencelist=(subtype,)).get_content()


def start_worker(settings: Settings, log: Path) -> WorkerProcess:
    worker = WorkerProcess.with_free_port(settings, log).start()
    worker.wait_ready()
    return worker


def test_first_match_at_once_then_one_digest_after_24_hours(mail_settings, tmp_path: Path) -> None:
    settings, mailbox, _, clock = mail_settings
    f = add_filter(settings, user="3", name="Mail me", mode="email", email="astro@example.org", sql=SQL)
    worker = start_worker(settings, tmp_path / "worker.log")
    try:
        replay(settings, 1, seed=40)
        wait_for(lambda: len(mailbox.messages) == 1, "the first match's e-mail")
        first = mailbox.messages[0]
        assert first["To"] == "astro@example.org" and "Mail me" in first["Subject"]

        expected = []
        for hour, seed in zip((1, 6, 12, 18, 23), range(41, 46)):  # 500 matches over the next 23 hours
            clock.set(T0 + hour * HOUR)
            ends, items = replay(settings, 100, seed)
            worker.wait_caught_up(settings.alert_topic, ends)
            expected += items
        wait_pending(worker, f, 500)
        quiet_checks(worker)
        assert len(mailbox.messages) == 1, "no e-mail within 24 hours of the last"

        clock.set(T0 + 24 * HOUR)
        wait_for(lambda: len(mailbox.messages) == 2, "the digest at hour 24")
        quiet_checks(worker)
        assert len(mailbox.messages) == 2 and digest_of(worker, f)["pending"] == 0
    finally:
        assert worker.stop() == 0

    digest = mailbox.messages[1]
    objects = {i.alert.diaObjectId for i in expected}
    assert digest["Subject"] == f'alertflow: "Mail me": {len(objects)} objects'
    assert digest.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in digest.iter_parts()] == ["text/plain", "text/html"]
    html, text = body(digest, "html"), body(digest, "plain")
    assert html.count("<tr") == 500 + 1  # a header row and one row per match
    for item in expected:
        assert f"https://example.org/objects/{item.alert.diaObjectId}" in html
        assert str(item.alert.diaObjectId) in text
    assert "declination" in html and "nDiaSources" in html
    first_row = html.split("<tr", 2)[2].split("</tr>", 1)[0]  # rows are newest first: hour 23's lead
    assert any(f"/objects/{i.alert.diaObjectId}\"" in first_row for i in expected[-100:])


def test_pending_matches_survive_a_crash_and_go_once(mail_settings, tmp_path: Path) -> None:
    settings, mailbox, _, clock = mail_settings
    f = add_filter(settings, user="3", name="Crash safe", mode="email", email="astro@example.org", sql=SQL)
    worker = start_worker(settings, tmp_path / "w1.log")
    replay(settings, 1, seed=50)
    wait_for(lambda: len(mailbox.messages) == 1, "the first e-mail")
    clock.set(T0 + 2 * HOUR)
    ends, items = replay(settings, 20, seed=51)
    worker.wait_caught_up(settings.alert_topic, ends)
    wait_pending(worker, f, 20)
    worker.kill()

    worker = start_worker(settings, tmp_path / "w2.log")
    try:
        wait_pending(worker, f, 20)
        quiet_checks(worker)
        assert len(mailbox.messages) == 1, "the restarted worker must not resend the first e-mail"
        clock.set(T0 + 24 * HOUR)
        wait_for(lambda: len(mailbox.messages) == 2, "the digest after the restart")
        quiet_checks(worker)
    finally:
        assert worker.stop() == 0
    assert len(mailbox.messages) == 2
    html = body(mailbox.messages[1], "html")
    assert html.count("<tr") == 20 + 1
    assert all(str(i.alert.diaObjectId) in html for i in items)


def test_smtp_down_keeps_the_digest_until_the_server_returns(mail_settings, tmp_path: Path) -> None:
    settings, mailbox, smtp, clock = mail_settings
    smtp.stop()
    f = add_filter(settings, user="3", name="Patient", mode="email", email="astro@example.org", sql=SQL)
    worker = start_worker(settings, tmp_path / "worker.log")
    try:
        replay(settings, 3, seed=60)
        wait_for(lambda: digest_of(worker, f).get("attempts", 0) >= 1, "a failed attempt")
        wait_pending(worker, f, 3)  # the first attempt may come before all three alerts are read
        smtp.start()
        quiet_checks(worker)
        assert mailbox.messages == [], "no retry before the back-off has passed"
        clock.set(T0 + 61)
        wait_for(lambda: len(mailbox.messages) == 1, "the digest once the server is back")
        quiet_checks(worker)
        assert len(mailbox.messages) == 1 and digest_of(worker, f)["pending"] == 0
    finally:
        assert worker.stop() == 0
    assert body(mailbox.messages[0], "html").count("<tr") == 3 + 1
