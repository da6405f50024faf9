"""The e-mail throttle, driven through simulated days by a manual clock."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.clock import ClockError, FileClock, ManualClock, clock_from_settings, system_clock
from pipeline.email.digest import DAY, DigestState, EmailMatch, add_match, digest_id, discard, due, failed, retry_delay, sent
from pipeline.settings import Settings

START = 1_767_225_600.0  # 2026-01-01 00:00:00 UTC
HOUR = 3_600.0


def match(source: int, at: float, obj: int | None = None) -> EmailMatch:
    obj = source // 2 if obj is None else obj
    return EmailMatch("f1", 1, obj, source, {"diaObjectId": obj, "ra": 150.0 + source / 1e4}, "2026-01-01 00:00:00", at)


def receive(state: DigestState, clock: ManualClock, source: int, max_rows: int = 1000) -> DigestState:
    return add_match(state, match(source, clock()), clock(), max_rows)


def test_first_match_then_one_digest_a_day() -> None:
    clock = ManualClock(START)
    state = receive(DigestState("f1"), clock, 1)
    assert due(state, clock())  # the first match after a quiet day goes at once
    state = sent(state, clock())
    assert not due(state, clock())

    for i in range(500):  # 500 matches spread over the next 23 hours
        clock.advance(165)
        state = receive(state, clock, 100 + i)
        assert not due(state, clock())
    clock.advance(DAY - 500 * 165 - 1)
    assert not due(state, clock())  # one second short of 24 h

    clock.advance(1)
    assert due(state, clock())
    assert len(state.pending) == 500 and state.more == 0
    assert [m.diaSourceId for m in state.pending] == list(range(599, 99, -1))  # newest first
    state = sent(state, clock())
    assert not due(state, clock()) and state.pending == () and state.last_sent == clock()

    clock.advance(DAY)  # a quiet day: nothing to send, then a new match goes at once
    assert not due(state, clock())
    assert due(receive(state, clock, 9999), clock())


def test_cap_keeps_the_newest_and_counts_the_rest() -> None:
    clock = ManualClock(START)
    state = DigestState("f1")
    for source in range(25):
        clock.advance(60)
        state = receive(state, clock, source, max_rows=10)
    assert [m.diaSourceId for m in state.pending] == list(range(24, 14, -1))
    assert state.more == 15
    late = add_match(state, match(99, START), clock(), 10)  # older than everything kept
    assert late.pending == state.pending and late.more == 16
    assert sent(state, clock()).more == 0


def test_duplicates_are_pending_once() -> None:
    clock = ManualClock(START)
    state = receive(DigestState("f1"), clock, 7)
    clock.advance(10)
    again = receive(state, clock, 7)
    assert again.pending == state.pending and again.more == 0


def test_position_skips_redelivery_even_after_the_digest_went() -> None:
    state = add_match(DigestState("f1"), match(1, START), START, 10, position=(3, 41))
    state = sent(state, START)
    assert add_match(state, match(1, START), START, 10, position=(3, 41)).pending == ()
    assert add_match(state, match(2, START), START, 10, position=(3, 42)).applied == (3, 42)
    moved = add_match(state, match(2, START), START, 10, position=(0, 5))  # partition count changed
    assert len(moved.pending) == 1 and moved.applied == (0, 5)


def test_failed_send_backs_off_and_keeps_the_digest() -> None:
    clock = ManualClock(START)
    state = receive(DigestState("f1"), clock, 1)
    first_id = digest_id(state)
    delays = []
    for _ in range(9):
        assert due(state, clock())
        state = failed(state, clock())
        delays.append(state.next_attempt - clock())
        assert not due(state, clock())
        clock.advance(delays[-1] - 1)
        state = receive(state, clock, 100 + len(delays))  # matches keep arriving meanwhile
        assert not due(state, clock())
        clock.advance(1)
    assert delays == [60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]
    assert state.attempts == 9 and len(state.pending) == 10
    assert digest_id(state) == first_id  # a retry is the same digest, recognisable by its Message-ID
    state = sent(state, clock())
    assert (state.attempts, state.next_attempt, state.last_digest_id) == (0, None, first_id)
    assert retry_delay(1) == 60


def test_digest_ids_differ_between_digests_and_after_a_reset() -> None:
    clock = ManualClock(START)
    state = receive(DigestState("f1"), clock, 1)
    ids = {digest_id(state)}
    state = sent(state, clock())
    clock.advance(DAY)
    state = receive(state, clock, 2)
    ids.add(digest_id(state))
    clock.advance(HOUR)
    ids.add(digest_id(receive(DigestState("f1"), clock, 3)))  # state deleted and rebuilt
    assert len(ids) == 3


def test_discard_ends_the_digest_but_keeps_the_throttle() -> None:
    clock = ManualClock(START)
    state = sent(receive(DigestState("f1"), clock, 1), clock())
    state = discard(failed(receive(state, clock, 2), clock()))
    assert (state.pending, state.attempts, state.last_sent) == ((), 0, START)
    clock.advance(HOUR)
    assert not due(receive(state, clock, 3), clock())  # re-activated within 24 h: still held


def test_match_of_another_filter_is_refused() -> None:
    other = EmailMatch("f2", 1, 1, 1, {}, "2026-01-01 00:00:00", START)
    with pytest.raises(ValueError, match="f2"):
        add_match(DigestState("f1"), other, START, 10)


def test_state_survives_json() -> None:
    clock = ManualClock(START)
    state = sent(receive(DigestState("f1"), clock, 1), clock())
    for source in range(2, 8):
        clock.advance(60)
        state = add_match(state, match(source, clock()), clock(), 4, position=(1, source))
    state = failed(state, clock())
    assert state.more == 2
    stored = json.loads(json.dumps(state.to_dict()))
    assert DigestState.from_dict(stored) == state
    assert EmailMatch.from_dict(json.loads(json.dumps(state.pending[0].to_dict()))) == state.pending[0]
    assert list(stored["pending"][0]["fields"]) == ["diaObjectId", "ra"]


def test_clocks(tmp_path: Path) -> None:
    manual = ManualClock(10)
    assert (manual(), manual.advance(2.5), manual()) == (10, 12.5, 12.5)

    path = tmp_path / "now"
    clock = FileClock(path)
    with pytest.raises(ClockError, match="cannot read"):
        clock()
    path.write_text("1767225600.5\n")
    assert clock() == 1767225600.5
    path.write_text("tomorrow")
    with pytest.raises(ClockError, match="not epoch seconds"):
        clock()
    path.write_text("nan")
    with pytest.raises(ClockError, match="not a finite time"):
        clock()

    assert clock_from_settings(Settings(clock_file=str(path))).path == path
    assert clock_from_settings(Settings()) is system_clock
