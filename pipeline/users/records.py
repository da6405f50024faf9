"""Users as records on a compacted topic (key = user id), and the book of current users every worker holds.

A user record never holds a token, only its salted hash (pipeline/users/tokens.py); issuing a
new token replaces the hash, so the old token stops working as soon as the record is read.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import orjson

from pipeline.streams.validation import MAX_NAME_CHARS, email, text


@dataclass(frozen=True)
class User:
    id: int
    name: str
    email: str | None = None
    admin: bool = False
    disabled: bool = False
    created: float = 0.0
    token_hash: str = ""  # "" = no valid token (never issued, or revoked)

    @property
    def key(self) -> bytes:
        return str(self.id).encode()

    def to_json(self) -> bytes:
        return orjson.dumps(asdict(self))

    @classmethod
    def from_json(cls, data: bytes | str) -> User:
        return cls(**orjson.loads(data))


class UserBook:
    """The current users, built from the users topic's records like FilterRegistry from the filters'."""

    def __init__(self) -> None:
        self.users: dict[int, User] = {}

    def apply(self, key: bytes | None, value: bytes | None) -> None:
        """One record: a user's latest version, or a tombstone deleting the user."""
        if key is None:
            return
        user_id = int(key)
        if value is None:
            self.users.pop(user_id, None)
        else:
            self.users[user_id] = User.from_json(value)

    def get(self, user_id: int) -> User | None:
        return self.users.get(user_id)

    def next_id(self) -> int:
        """One more than the largest id: creation is serialised by the operator's command line, not here."""
        return max(self.users, default=0) + 1


def new_user(book: UserBook, name: str, *, email_address: str | None, admin: bool, now: float) -> User:
    """A new user with the next id and no token yet; InvalidField naming `name` or `email` if either is bad."""
    return User(id=book.next_id(), name=text("name", name, max_chars=MAX_NAME_CHARS),
                email=email("email", email_address), admin=admin, created=now)
