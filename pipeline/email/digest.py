"""Per-filter e-mail digests and Lasair's throttle: at most one e-mail per filter per 24 hours, ever.

The first match after a quiet 24 hours is due at once; later matches wait in `pending` until 24
hours have passed since the previous e-mail, then go together in one digest. The state is one
JSON-compatible dict per filter id in a changelogged Faust table; every function here is pure
and returns a new state, so the caller decides when it is written.

Duplicate sends. The caller writes `sent(...)` after the SMTP server accepted the message. A
worker that dies between that acceptance and the changelog write restarts with the digest still
pending and sends it again: at-least-once, so no match is ever lost. The window is one SMTP
reply plus one changelog write (write the state straight after the send and flush the
producer). The resend carries the same `digest_id`, hence the same Message-ID, so it can be
recognised (clients that de-duplicate by Message-ID drop it). Outside that window a digest goes
once: `sent` moves `last_sent`, which holds the next e-mail back 24 hours and changes the id.

Re-delivered matches. The internal topic is at-least-once, so a match may arrive twice.
Pending matches are de-duplicated by diaSourceId; a match that was already sent, or was already
counted beyond the cap, is recognised only by its topic position (`add_match(position=...)`).
"""
from __future__ import annotations

import bisect
import hashlib
from dataclasses import dataclass, replace
from typing import Any

DAY = 86_400.0
FIRST_RETRY = 60.0
MAX_RETRY = 3_600.0

Position = tuple[int, int]  # (partition, offset) of a match on the internal topic


@dataclass(frozen=True)
class EmailMatch:
    """One alert that matched an e-mail filter; also the JSON value on the internal topic."""

    filter_id: str
    filter_version: int
    diaObjectId: int
    diaSourceId: int
    fields: dict[str, Any]  # the filter's selected fields, in output order
    utc: str  # "YYYY-MM-DD HH:MM:SS", shown in the e-mail
    at: float  # epoch seconds of the match; orders the digest, newest first

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "fields": dict(self.fields)}  # asdict's deep copy costs 50x more

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EmailMatch:
        return cls(**{**data, "fields": dict(data["fields"])})


@dataclass(frozen=True)
class DigestState:
    """What one filter's digest needs to survive a worker restart."""

    filter_id: str
    pending: tuple[EmailMatch, ...] = ()  # newest first, at most max_rows of them
    more: int = 0  # older pending matches beyond the cap: counted, never silently dropped
    opened: float | None = None  # when the first pending match was added; part of the digest id
    last_sent: float | None = None
    last_digest_id: str | None = None
    attempts: int = 0  # failed sends in a row
    next_attempt: float | None = None
    applied: Position | None = None  # the newest topic position added, to skip re-deliveries

    @property
    def objects(self) -> int:
        """Distinct objects among the pending matches shown (those beyond the cap are unknown)."""
        return len({m.diaObjectId for m in self.pending})

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "pending": [m.to_dict() for m in self.pending],
                "applied": list(self.applied) if self.applied else None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DigestState:
        applied = data.get("applied")
        return cls(**{**data, "pending": tuple(EmailMatch.from_dict(m) for m in data.get("pending", ())),
                      "applied": (int(applied[0]), int(applied[1])) if applied else None})


def _newest_first(match: EmailMatch) -> tuple[float, int]:
    return (-match.at, -match.diaSourceId)


def _already_applied(state: DigestState, position: Position | None) -> bool:
    return (position is not None and state.applied is not None
            and position[0] == state.applied[0] and position[1] <= state.applied[1])


def add_match(state: DigestState, match: EmailMatch, now: float, max_rows: int,
              *, position: Position | None = None) -> DigestState:
    """The state with `match` pending, keeping the newest `max_rows` and counting the rest.

    `position` is the match's (partition, offset) on the internal topic; when given, a
    re-delivery of anything already added (even if since sent) is ignored.
    """
    if match.filter_id != state.filter_id:
        raise ValueError(f"match of filter {match.filter_id} added to the digest of {state.filter_id}")
    if max_rows < 1:
        raise ValueError(f"max_rows must be at least 1, got {max_rows}")
    if _already_applied(state, position):
        return state
    applied = position or state.applied
    if any(m.diaSourceId == match.diaSourceId for m in state.pending):
        return replace(state, applied=applied)
    pending = list(state.pending)
    bisect.insort(pending, match, key=_newest_first)
    return replace(state, pending=tuple(pending[:max_rows]), more=state.more + max(0, len(pending) - max_rows),
                   opened=state.opened if state.pending else now, applied=applied)


def due(state: DigestState, now: float) -> bool:
    """Whether a digest should be sent now: something pending, 24 h since the last, no back-off."""
    return (bool(state.pending)
            and (state.last_sent is None or now - state.last_sent >= DAY)
            and (state.next_attempt is None or now >= state.next_attempt))


def digest_id(state: DigestState) -> str:
    """The id of the digest `state` would send; unchanged by matches added or failed sends.

    It depends on the previous send and on when this digest's first match arrived, so
    consecutive digests differ, and so does a digest after the state was deleted and rebuilt.
    """
    key = f"{state.filter_id}\0{state.last_sent!r}\0{state.opened!r}"
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def sent(state: DigestState, now: float) -> DigestState:
    """The state after the SMTP server accepted the digest: nothing pending, 24 h until the next."""
    return replace(state, pending=(), more=0, opened=None, last_sent=now, last_digest_id=digest_id(state),
                   attempts=0, next_attempt=None)


def retry_delay(attempts: int) -> float:
    """Back-off after `attempts` failed sends in a row: 1 min, doubling, at most 1 h."""
    return min(FIRST_RETRY * 2 ** min(attempts - 1, 6), MAX_RETRY)


def failed(state: DigestState, now: float) -> DigestState:
    """The state after a failed send: everything kept, the next try after a back-off."""
    attempts = state.attempts + 1
    return replace(state, attempts=attempts, next_attempt=now + retry_delay(attempts))


def discard(state: DigestState) -> DigestState:
    """The state once its filter is deactivated or deleted: nothing pending, the throttle kept.

    Keeping `last_sent` means re-activating a filter cannot give a second e-mail within 24 h.
    """
    return replace(state, pending=(), more=0, opened=None, attempts=0, next_attempt=None)
