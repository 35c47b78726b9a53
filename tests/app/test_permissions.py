"""What a front offers a staff member (app/permissions.py): the actions their roster roles
allow at the request's stage, in their own districts only."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app import permissions
from app.errors import Refused
from app.principal import Principal
from districts import load_within_district
from models.stages import Stage
from models.state import HistoryEntry, RequestState
from models.within_district import Program, SeatKey
from models.within_request import (
    RecommendationKind,
    WithinKind,
    WithinRequestState,
    WithinStage,
)
from tests.support import within as w
from tests.support.factories import T0, make_request, state_at


def who(name: str, domain: str) -> Principal:
    return Principal(name=name, subject=f"code:{name}", email=f"{name}@{domain}")


AVALOS, NGUYEN = who("avalos", "paramount.example.org"), who("nguyen", "paramount.example.org")
LACOE = Principal(name="lacoe", subject="code:lacoe", email="appeals@lacoe.example.org")
OLSEN, RIVERA = who("olsen", "millard.example.org"), who("rivera", "millard.example.org")
KOWALSKI = who("kowalski", "millard.example.org")


@pytest.fixture(autouse=True)
def shipped_rosters(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRANSFERS_DISTRICTS_DIR", raising=False)


def _at(stage: Stage, direction: str = "out", events: tuple[str, ...] = ()) -> RequestState:
    """An interdistrict request of Paramount's in ``stage``, with ``events`` in its trail."""
    state = state_at(1, stages=[stage], request=make_request(direction=direction))
    extra = [HistoryEntry(seq=2 + i, at=T0, stage=stage, event=e, actor="avalos")
             for i, e in enumerate(events)]
    return state.model_copy(update={"history": state.history + extra})


def test_each_role_gets_the_interdistrict_actions_of_the_stage() -> None:
    review = _at(Stage.under_review)
    assert permissions.actions(NGUYEN, review) == ["decide"]
    assert permissions.actions(AVALOS, review) == ["withdraw"]
    assert permissions.actions(LACOE, review) == []
    denied = _at(Stage.denied)
    assert permissions.actions(AVALOS, denied) == ["file_appeal", "withdraw"]
    assert permissions.actions(LACOE, denied) == ["file_appeal"]
    assert permissions.actions(LACOE, _at(Stage.appeal_pending)) == ["record_appeal_outcome"]
    assert permissions.actions(AVALOS, _at(Stage.approved)) == []


def test_a_release_is_offered_into_the_district_until_it_is_recorded() -> None:
    waiting = _at(Stage.awaiting_release, "into")
    assert permissions.actions(AVALOS, waiting) == ["record_release", "withdraw"]
    released = _at(Stage.awaiting_documents, "into", ("release_granted",))
    assert permissions.actions(AVALOS, released) == ["withdraw"]
    assert "record_release" not in permissions.actions(AVALOS, _at(Stage.awaiting_documents))


def _within(stage: WithinStage, kind: WithinKind = WithinKind.next_year,
            flags: tuple[RecommendationKind, ...] = ()) -> WithinRequestState:
    config = load_within_district("millard")
    key = SeatKey(school="norris-elementary", program=Program.montessori, grade=0)
    return WithinRequestState(
        id="millard-within-1", request=w.request(config, 1, key), kind=kind,
        timezone="America/Chicago", stage=stage, received_at=datetime.now(UTC),
        flags=list(flags))


def test_within_recommendations_go_to_their_roles_and_the_designee_decides_now() -> None:
    waiting = _within(WithinStage.awaiting_recommendation,
                      flags=(RecommendationKind.special_education, RecommendationKind.discipline))
    assert permissions.actions(RIVERA, waiting) == ["within.recommend.special_education"]
    assert permissions.actions(KOWALSKI, waiting) == ["within.recommend.discipline"]
    assert permissions.actions(OLSEN, waiting) == ["within.withdraw"]
    current = _within(WithinStage.under_review, WithinKind.current_year)
    assert permissions.actions(KOWALSKI, current) == ["within.decide"]
    # The lottery decides a next year's request, not a person.
    assert permissions.actions(KOWALSKI, _within(WithinStage.under_review)) == []
    # A parent's answer to an offer, given to student services, while the seat is offered.
    offered = _within(WithinStage.offered)
    assert permissions.actions(OLSEN, offered) == ["lottery.answer_offer", "within.withdraw"]
    assert permissions.actions(RIVERA, offered) == []
    assert "lottery.answer_offer" not in permissions.actions(OLSEN,
                                                             _within(WithinStage.waitlisted))


def test_another_districts_staff_may_do_nothing_and_are_told_why() -> None:
    review = _at(Stage.under_review)
    assert permissions.actions(OLSEN, review) == []
    with pytest.raises(Refused, match="avalos may not decide: needs"):
        permissions.check_action(AVALOS, review, "decide")
    with pytest.raises(Refused, match="is approved: that action is not open"):
        permissions.check_action(NGUYEN, _at(Stage.approved), "decide")
    permissions.check_action(NGUYEN, review, "decide")  # allowed: no refusal
