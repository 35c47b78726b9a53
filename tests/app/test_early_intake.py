"""Intake's early check on the submitting machine's clock (docs/cross-cutting.md "One clock for
intake"): it refuses only what a clock up to ``CLOCK_SLACK`` off would refuse too; the
workflows' clock decides the rest."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from app.submissions import CLOCK_SLACK, early
from districts import load_within_district
from intake.within import prepare_within
from models.within_request import WithinKind, WithinRequestInput
from rules.errors import PolicyError
from tests.intake.test_within import millard_request

CHI = ZoneInfo("America/Chicago")
FIVE = datetime(2027, 2, 15, 17, 0, tzinfo=CHI)  # VIII.A.2: forms delivered in person close


def test_a_fast_clock_minutes_past_the_close_is_left_to_the_workflows(engine: Engine) -> None:
    """A staff PC five minutes fast says 5:03 p.m. when the server says 4:58: intake does not
    refuse, and the request goes to the lottery, whose clock decides."""
    config = load_within_district("millard")
    request = millard_request()

    def at(now: datetime) -> WithinRequestInput:
        return prepare_within(request, config, now, engine, "avalos")

    with pytest.raises(PolicyError, match="forms delivered in person"):
        at(FIVE + timedelta(minutes=3))
    assert early(at, FIVE + timedelta(minutes=3)).kind is WithinKind.next_year
    # Past the slack the refusal is intake's, as worded at this machine's clock.
    with pytest.raises(PolicyError, match="forms delivered in person .* closed at "
                       "2027-02-15T17:00:00-06:00"):
        early(at, FIVE + CLOCK_SLACK + timedelta(seconds=1))


def test_a_refusal_at_every_nearby_clock_is_intakes_own() -> None:
    calls: list[datetime] = []

    def refuse(now: datetime) -> None:
        calls.append(now)
        raise PolicyError(f"unknown school at {now.isoformat()}")

    with pytest.raises(PolicyError, match=f"at {FIVE.isoformat()}$"):
        early(refuse, FIVE)
    assert calls == [FIVE, FIVE - CLOCK_SLACK, FIVE + CLOCK_SLACK]


def test_a_slow_clock_minutes_before_an_opening_is_left_to_the_workflows() -> None:
    opens = datetime(2026, 9, 1, 0, 0, tzinfo=CHI)

    def window(now: datetime) -> datetime:
        if now < opens:
            raise PolicyError("not open yet")
        return now

    assert early(window, opens - timedelta(minutes=4)) == opens - timedelta(minutes=4) + \
        CLOCK_SLACK
    with pytest.raises(PolicyError, match="not open yet"):
        early(window, opens - CLOCK_SLACK - timedelta(seconds=1))
