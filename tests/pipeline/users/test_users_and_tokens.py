"""Users on their compacted topic and their API tokens: hashes only at rest, old tokens revoked by new ones."""
from __future__ import annotations

from dataclasses import replace

import pytest

from pipeline.clock import ManualClock
from pipeline.streams.validation import InvalidField
from pipeline.users import tokens
from pipeline.users.records import User, UserBook, new_user
from pipeline.users.tokens import TokenVerifier, hash_token, issue_token, revoked, token_from_header, token_matches, token_user_id


def book_of(*users: User) -> UserBook:
    book = UserBook()
    for user in users:
        book.apply(user.key, user.to_json())
    return book


@pytest.fixture(scope="module")
def ann() -> tuple[User, str]:
    """User 1 with a token (hashed once for the module: scrypt is slow on purpose)."""
    return issue_token(User(id=1, name="Ann", email="ann@example.org", created=1.0))


@pytest.fixture(scope="module")
def bob() -> tuple[User, str]:
    return issue_token(User(id=2, name="Bob"))


# ---------------------------------------------------------------- records and the book


def test_records_round_trip_and_tombstones_delete() -> None:
    book = UserBook()
    assert book.next_id() == 1
    ann = new_user(book, "Ann", email_address="ann@example.org", admin=True, now=5.0)
    assert (ann.id, ann.name, ann.email, ann.admin, ann.disabled, ann.created, ann.token_hash) == (1, "Ann", "ann@example.org", True, False, 5.0, "")
    book.apply(ann.key, ann.to_json())
    assert ann.key == b"1" and book.get(1) == ann and User.from_json(ann.to_json()) == ann
    bob = new_user(book, "Bob", email_address=None, admin=False, now=6.0)
    assert bob.id == 2
    book.apply(bob.key, bob.to_json())
    book.apply(b"12", replace(bob, id=12).to_json())
    assert book.next_id() == 13  # max + 1, not count + 1
    book.apply(b"12", None)
    book.apply(None, b"ignored")
    assert sorted(book.users) == [1, 2] and book.get(12) is None and book.next_id() == 3


def test_new_users_names_and_addresses_are_checked() -> None:
    with pytest.raises(InvalidField, match="name: character 4 is a control character"):
        new_user(UserBook(), "Ann\n", email_address=None, admin=False, now=0.0)
    with pytest.raises(InvalidField, match="email: 'ann' is not a valid e-mail address"):
        new_user(UserBook(), "Ann", email_address="ann", admin=False, now=0.0)


def test_only_the_hash_is_stored_never_the_token(ann: tuple[User, str]) -> None:
    user, token = ann
    user_id, secret = token.split(".")
    assert user_id == "1" and len(secret) == 43
    at_rest = user.to_json()
    assert token.encode() not in at_rest and secret.encode() not in at_rest
    assert user.token_hash.startswith("scrypt$8192$8$1$") and len(user.token_hash.split("$")[-1]) == 64
    assert token_matches(token, user.token_hash)


def test_hashes_are_salted_and_tokens_random() -> None:
    assert hash_token("1.same") != hash_token("1.same")
    first, second = issue_token(User(id=3, name="c"))[1], issue_token(User(id=3, name="c"))[1]
    assert first != second and first.startswith("3.") and second.startswith("3.")


def test_matching_refuses_near_misses_and_malformed_hashes(ann: tuple[User, str]) -> None:
    user, token = ann
    assert not token_matches(token[:-1] + ("A" if token[-1] != "A" else "B"), user.token_hash)
    assert not token_matches(token, "")
    assert not token_matches(token, "pbkdf2$1$2$3$00$00")
    assert not token_matches(token, "scrypt$x$8$1$00$00")
    assert not token_matches(token, user.token_hash.replace("scrypt$8192", "scrypt$8191"))  # n must be a power of two


# ---------------------------------------------------------------- headers and ids


def test_the_authorization_header_is_lasairs() -> None:
    assert token_from_header("Token 1.abc") == "1.abc"
    assert token_from_header("token   1.abc ") == "1.abc"
    for header in (None, "", "Token", "Token ", "Bearer 1.abc", "1.abc"):
        assert token_from_header(header) is None


def test_the_prefix_names_the_user_and_nothing_more() -> None:
    assert token_user_id("12.secret") == 12
    for bad in ("", "12", "12.", ".secret", "x.secret", "١٢.secret", "-1.secret", "1." + "s" * 200):
        assert token_user_id(bad) is None


# ---------------------------------------------------------------- verification


def test_verify_finds_the_user_and_refuses_everything_else(ann: tuple[User, str], bob: tuple[User, str]) -> None:
    verifier = TokenVerifier(book_of(ann[0], bob[0]), ManualClock(0.0), cache_seconds=60.0)
    assert verifier.verify(ann[1]) == ann[0] and verifier.verify(bob[1]) == bob[0]
    ann_secret = ann[1].split(".", 1)[1]
    for bad in (None, "", "garbage", "1.wrong", f"2.{ann_secret}", f"3.{ann_secret}", ann[1] + "x"):
        assert verifier.verify(bad) is None, bad


def test_a_new_token_revokes_the_old_at_once_even_when_cached(ann: tuple[User, str]) -> None:
    book = book_of(ann[0])
    verifier = TokenVerifier(book, ManualClock(0.0), cache_seconds=3600.0)
    assert verifier.verify(ann[1]) == ann[0]
    renewed, new_token = issue_token(ann[0])
    book.apply(renewed.key, renewed.to_json())
    assert verifier.verify(ann[1]) is None
    assert verifier.verify(new_token) == renewed
    book.apply(renewed.key, revoked(renewed).to_json())
    assert verifier.verify(new_token) is None


def test_disabled_and_deleted_users_are_refused_at_once(ann: tuple[User, str]) -> None:
    book = book_of(ann[0])
    verifier = TokenVerifier(book, ManualClock(0.0), cache_seconds=3600.0)
    assert verifier.verify(ann[1]) == ann[0]
    book.apply(ann[0].key, replace(ann[0], disabled=True).to_json())
    assert verifier.verify(ann[1]) is None
    book.apply(ann[0].key, ann[0].to_json())
    assert verifier.verify(ann[1]) == ann[0]
    book.apply(ann[0].key, None)
    assert verifier.verify(ann[1]) is None


class CountingMatches:
    """Counts slow hash checks, so the tests can see when the cache spared one."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, token: str, stored: str) -> bool:
        self.calls += 1
        return token_matches(token, stored)


def test_successful_checks_are_cached_for_the_set_time_only(ann: tuple[User, str], monkeypatch: pytest.MonkeyPatch) -> None:
    hashed = CountingMatches()
    monkeypatch.setattr(tokens, "token_matches", hashed)
    clock = ManualClock(100.0)
    verifier = TokenVerifier(book_of(ann[0]), clock, cache_seconds=60.0)
    for _ in range(5):
        assert verifier.verify(ann[1]) == ann[0]
    assert hashed.calls == 1
    clock.advance(59.9)
    assert verifier.verify(ann[1]) == ann[0] and hashed.calls == 1
    clock.advance(0.1)
    assert verifier.verify(ann[1]) == ann[0] and hashed.calls == 2
    for _ in range(3):
        assert verifier.verify(ann[1][:-1] + "#") is None  # failures are never cached: each one is hashed
    assert hashed.calls == 5


def test_the_cache_is_bounded(ann: tuple[User, str], bob: tuple[User, str], monkeypatch: pytest.MonkeyPatch) -> None:
    hashed = CountingMatches()
    monkeypatch.setattr(tokens, "token_matches", hashed)
    verifier = TokenVerifier(book_of(ann[0], bob[0]), ManualClock(0.0), cache_seconds=60.0, max_cached=1)
    assert verifier.verify(ann[1]) and verifier.verify(bob[1]) and verifier.verify(bob[1])
    assert hashed.calls == 2
    assert verifier.verify(ann[1]) == ann[0] and hashed.calls == 3  # Ann's entry made room for Bob's
