"""Who sees and changes which filter, and what others see of it: never an e-mail address nor a token hash."""
from __future__ import annotations

from dataclasses import asdict

import pytest

from pipeline.streams.filter_record import FilterRecord, create
from pipeline.users.ownership import filter_view, may_change, may_see, user_view, visible
from pipeline.users.records import User

SQL = "SELECT objects.diaObjectId FROM objects WHERE objects.nDiaSources >= 3"
ANN = User(id=1, name="Ann", email="ann@example.org", token_hash="scrypt$8192$8$1$aa$bb")
BOB = User(id=2, name="Bob", email="bob@example.org", token_hash="scrypt$8192$8$1$cc$dd")
ADMIN = User(id=3, name="Operator", email="ops@example.org", admin=True)


@pytest.fixture(scope="module")
def ann_public() -> FilterRecord:
    return create("lasair_", "1", "shared", SQL, "email", email="ann@example.org", public=True, quota_bytes=5000)


@pytest.fixture(scope="module")
def ann_private() -> FilterRecord:
    return create("lasair_", "1", "mine", SQL, "plain", email="ann@example.org")


def test_who_may_see_and_change(ann_public: FilterRecord, ann_private: FilterRecord) -> None:
    table = {who.name if who else "nobody": (may_see(who, ann_public), may_see(who, ann_private),
                                             may_change(who, ann_public), may_change(who, ann_private))
             for who in (ANN, BOB, ADMIN, None)}
    assert table == {"Ann": (True, True, True, True),          # the owner: everything
                     "Bob": (True, False, False, False),        # another user: sees the public one only, changes nothing
                     "Operator": (True, True, True, True),      # an admin: everything
                     "nobody": (True, False, False, False)}     # no valid token: public filters, read only


def test_lists_hold_what_the_viewer_may_see(ann_public: FilterRecord, ann_private: FilterRecord) -> None:
    bob_own = create("lasair_", "2", "bobs", SQL, "plain")
    records = [ann_public, ann_private, bob_own]
    assert visible(BOB, records) == [ann_public, bob_own]
    assert visible(ANN, records) == [ann_public, ann_private]
    assert visible(ADMIN, records) == records
    assert visible(None, records) == [ann_public]


def test_others_see_sql_and_topic_of_a_public_filter_never_the_address(ann_public: FilterRecord, ann_private: FilterRecord) -> None:
    full = asdict(ann_public)
    assert filter_view(ANN, ann_public) == full and filter_view(ADMIN, ann_public) == full
    for other in (BOB, None):
        seen = filter_view(other, ann_public)
        assert seen is not None and "ann@example.org" not in str(seen)
        assert seen == {k: v for k, v in full.items() if k not in ("email", "quota_bytes")}
        assert (seen["sql"], seen["topic"], seen["user"]) == (SQL, "lasair_1shared", "1")
        assert filter_view(other, ann_private) is None


def test_users_are_shown_as_ids_to_others_and_never_with_the_token_hash() -> None:
    for viewer in (BOB, None):
        assert user_view(viewer, ANN) == {"id": 1}
    for viewer in (ANN, ADMIN):
        shown = user_view(viewer, ANN)
        assert shown == {"id": 1, "name": "Ann", "email": "ann@example.org", "admin": False, "disabled": False, "created": 0.0}
    assert "token_hash" not in user_view(BOB, BOB) and "token_hash" not in user_view(ADMIN, BOB)
