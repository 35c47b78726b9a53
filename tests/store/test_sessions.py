"""The records store's codes and sessions have a kind (docs/portal.md "Parents signing in"):
a parent's code is not redeemed as a staff member's, nor counted against their limit, and a
parent's session is no staff session (the console, the CLI and the codec server read staff
sessions only), nor the reverse."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

from store import sessions
from store.engine import make_engine
from store.sessions import PARENT, STAFF

ADDRESS = "both.roles@example.org"  # a staff member who is also a parent
NOW = datetime(2027, 2, 15, 16, 0, tzinfo=UTC)


@pytest.fixture()
def engine(tmp_path: Path) -> Engine:
    return make_engine(f"sqlite:///{tmp_path / 'records.sqlite3'}")


def test_a_parents_code_is_not_a_staff_code(engine: Engine) -> None:
    code = sessions.issue_code(engine, ADDRESS, NOW, PARENT)
    with pytest.raises(sessions.SignInError, match="no code was sent"):
        sessions.redeem_code(engine, ADDRESS, code, NOW)
    sessions.redeem_code(engine, ADDRESS, code, NOW, PARENT)


def test_each_kind_has_its_own_three_codes(engine: Engine) -> None:
    for _ in range(3):
        sessions.issue_code(engine, ADDRESS, NOW, PARENT)
    with pytest.raises(sessions.SignInError, match="3 codes were sent"):
        sessions.issue_code(engine, ADDRESS, NOW, PARENT)
    sessions.issue_code(engine, ADDRESS, NOW, STAFF)


def test_a_session_is_read_only_as_its_own_kind(engine: Engine) -> None:
    parent = sessions.open_session(engine, ADDRESS, "code", f"parent:{ADDRESS}", NOW, PARENT)
    staff = sessions.open_session(engine, ADDRESS, "code", f"code:{ADDRESS}", NOW)
    assert sessions.session_of(engine, parent, NOW) is None  # the staff's default
    assert sessions.session_of(engine, parent, NOW, PARENT) is not None
    assert sessions.session_of(engine, staff, NOW, PARENT) is None
    assert sessions.session_of(engine, staff, NOW) is not None
