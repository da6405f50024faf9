"""E-mail digests in the worker: one owner per filter, state in a changelogged Faust table.

E-mail-mode matches go to an internal topic keyed by filter id, so the worker that owns the
partition owns the filter's digest however many workers run. The table (co-partitioned with that
topic) holds each filter's `DigestState`. Faust lets a table be written only inside the agent's
stream, so the timer does not send mail itself: it puts a tick for each due digest on the same
topic, and the agent sends the digest and writes the new state.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import faust
import orjson
from faust.exceptions import ConsumerNotStarted
from faust.types import EventT

from pipeline.clock import clock_from_settings
from pipeline.email import digest
from pipeline.email.digest import DigestState, EmailMatch
from pipeline.email.render import render_digest
from pipeline.settings import Settings
from .mailer import MailError, send_message

if TYPE_CHECKING:
    from .app import WorkerState

log = logging.getLogger("alertflow.digests")

TICK = b'{"tick":true}'


def match_message(match: EmailMatch) -> bytes:
    return orjson.dumps(match.to_dict())


class Digests:
    """The digest agent, table and timer of one worker."""

    def __init__(self, app: faust.App, worker: WorkerState, settings: Settings):
        self.app = app
        self.worker = worker
        self.settings = settings
        self.clock = clock_from_settings(settings)
        self.topic = app.topic(settings.email_topic, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")
        self.table = app.Table("digests", default=None, partitions=settings.partitions)
        self.checks = 0
        self.sent = 0
        self.failures = 0

    def state(self, filter_id: str) -> DigestState:
        stored = self.table.get(filter_id)
        return DigestState.from_dict(stored) if stored else DigestState(filter_id)

    async def send_match(self, match: EmailMatch) -> Any:
        return await self.app.producer.send(self.settings.email_topic, match.filter_id.encode(), match_message(match), None, None, None)

    async def handle(self, event: EventT) -> None:
        filter_id = event.message.key.decode()
        record = self.worker.registry.records.get(filter_id)
        now = self.clock()
        state = self.state(filter_id)
        if record is None or not record.active or record.mode != "email":
            if state.pending:
                log.info("digest of filter %s dropped (%d pending): filter deleted, inactive or no longer e-mail",
                         filter_id, len(state.pending) + state.more, extra={"filter_id": filter_id})
            if record is None:
                self.table.pop(filter_id, None)
            elif state.pending:
                self.table[filter_id] = digest.discard(state).to_dict()
            return
        if event.message.value != TICK:
            match = EmailMatch.from_dict(orjson.loads(event.message.value))
            state = digest.add_match(state, match, now, self.settings.digest_max_rows,
                                     position=(event.message.partition, event.message.offset))
        if digest.due(state, now):
            message = render_digest(record, state, mail_from=self.settings.mail_from, object_url=self.settings.object_url, now=now)
            try:
                await send_message(message, self.settings)
            except MailError as error:
                state = digest.failed(state, now)
                self.failures += 1
                log.warning("digest of filter %s not sent (attempt %d, next in %.0f s): %s",
                            filter_id, state.attempts, state.next_attempt - now, error, extra={"filter_id": filter_id})
            else:
                log.info("digest of filter %s sent to %s: %d matches", filter_id, record.email, len(state.pending) + state.more,
                         extra={"filter_id": filter_id})
                state = digest.sent(state, now)
                self.sent += 1
        self.table[filter_id] = state.to_dict()
        # Each changelog write goes out alone and at once: it narrows the window in which a crash
        # re-sends a digest, and keeps one record per batch, whose end offset every broker reports right.
        await self.app.producer.flush()

    async def tick_due(self) -> None:
        now = self.clock()
        self.checks += 1
        for filter_id, stored in list(self.table.items()):
            if stored and digest.due(DigestState.from_dict(stored), now):
                await self.app.producer.send(self.settings.email_topic, filter_id.encode(), TICK, None, None, None)

    def summary(self) -> dict[str, Any]:
        states = {fid: DigestState.from_dict(v) for fid, v in self.table.items() if v}
        return {
            "checks": self.checks,
            "sent": self.sent,
            "failures": self.failures,
            "filters": {fid: {"pending": len(s.pending), "more": s.more, "last_sent": s.last_sent,
                              "attempts": s.attempts, "next_attempt": s.next_attempt} for fid, s in states.items()},
        }


def register_digests(app: faust.App, worker: WorkerState, settings: Settings) -> Digests:
    digests = Digests(app, worker, settings)

    @app.agent(digests.topic, name="digests")
    async def digest_agent(stream: faust.StreamT) -> None:
        async for event in stream.events():
            await worker.reader.loaded.wait()
            await digests.handle(event)

    @app.timer(interval=settings.digest_check_seconds)
    async def check_digests() -> None:
        await digests.tick_due()

    @app.page("/digests")
    async def digests_page(web: Any, request: Any) -> Any:
        try:
            return web.json(digests.summary())
        except ConsumerNotStarted:  # the table is read through the consumer, which starts after the web server
            return web.json({"error": "the worker is starting: its digest table cannot be read yet"}, status=503)

    return digests
