"""Who may see and change an owned record, and what of it they see.

Written once for anything with an owner id and a public flag (filters today; watchlists, areas
and annotators as they arrive): the owner and admins see everything and may update and delete;
anyone else, signed in or not, sees public records only, without their private fields.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict
from typing import Any, Protocol, TypeVar

from pipeline.streams.filter_record import FilterRecord
from .records import User

FILTER_PRIVATE_FIELDS = frozenset({"email", "quota_bytes"})  # the owner's address and allowance: not needed to read a public stream


class Owned(Protocol):
    @property
    def user(self) -> str: ...  # the owner's id, as a string of digits

    @property
    def public(self) -> bool: ...


OwnedRecord = TypeVar("OwnedRecord", bound=Owned)


def owns(viewer: User | None, record: Owned) -> bool:
    return viewer is not None and str(viewer.id) == record.user


def may_change(viewer: User | None, record: Owned) -> bool:
    """Update and delete: the owner or an admin (None is no valid token: nobody)."""
    return viewer is not None and (viewer.admin or owns(viewer, record))


def may_see(viewer: User | None, record: Owned) -> bool:
    return record.public or may_change(viewer, record)


def visible(viewer: User | None, records: Iterable[OwnedRecord]) -> list[OwnedRecord]:
    return [r for r in records if may_see(viewer, r)]


def owned_view(viewer: User | None, fields: dict[str, Any], record: Owned, private: frozenset[str]) -> dict[str, Any] | None:
    """`fields` of `record` as `viewer` may see them: all, without the private ones, or None (not visible)."""
    if may_change(viewer, record):
        return dict(fields)
    if record.public:
        return {k: v for k, v in fields.items() if k not in private}
    return None


def filter_view(viewer: User | None, record: FilterRecord) -> dict[str, Any] | None:
    """A filter's JSON for `viewer`: others' public filters show SQL and topic, never the e-mail address."""
    return owned_view(viewer, asdict(record), record, FILTER_PRIVATE_FIELDS)


def user_view(viewer: User | None, user: User) -> dict[str, Any]:
    """A user as shown in lists, status and metrics: never the token hash; the e-mail address and name only to admins and the user."""
    if viewer is not None and (viewer.admin or viewer.id == user.id):
        return {k: v for k, v in asdict(user).items() if k != "token_hash"}
    return {"id": user.id}
