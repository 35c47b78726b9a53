"""rules/request_deadlines.py: what a request of either process waits on in each stage, with
its kind, last day and whom it waits on; boundaries of "passed" and "days left"."""

from __future__ import annotations

from datetime import date

import pytest

from models.stages import CLOSED_STAGES, Stage
from models.within_request import (
    ENDED_WITHIN_STAGES,
    RecommendationKind,
    WithinKind,
    WithinStage,
)
from rules.request_deadlines import Deadline, DeadlineKind, WaitsOn, deadlines, next_deadline
from rules.roles import ACTION_ROLES
from tests.support.read_models import interdistrict, within

D = date(2027, 3, 10)


def shape(found: list[Deadline]) -> list[tuple[str, date | None, str]]:
    return [(d.kind.value, d.due, d.waits_on.value) for d in found]


# ---- interdistrict, stage by stage ----------------------------------------------------------


def test_submitted_waits_on_nothing_yet() -> None:
    assert deadlines(interdistrict(Stage.submitted)) == []
    assert next_deadline(interdistrict(Stage.submitted)) is None


def test_documents_wait_on_the_parent() -> None:
    state = interdistrict(Stage.awaiting_documents, documents_due=D)
    assert shape(deadlines(state)) == [("documents", D, "parent")]


def test_release_waits_on_the_other_district() -> None:
    state = interdistrict(Stage.awaiting_release, documents_due=date(2027, 3, 1), release_due=D)
    # The documents' deadline was met: only the release is left.
    assert shape(deadlines(state)) == [("release", D, "other_district")]


def test_review_has_the_promise_then_the_statute() -> None:
    state = interdistrict(Stage.under_review, decision_due=D, statutory_due=date(2027, 4, 9))
    assert shape(deadlines(state)) == [
        ("decision", D, "staff"), ("statutory", date(2027, 4, 9), "staff")]


def test_review_whose_promise_is_the_statute_has_one_deadline() -> None:
    state = interdistrict(Stage.under_review, decision_due=D, statutory_due=D)
    assert shape(deadlines(state)) == [("statutory", D, "staff")]


def test_an_overdue_review_keeps_its_passed_promise_first() -> None:
    state = interdistrict(Stage.under_review, decision_due=D, statutory_due=date(2027, 4, 9),
                          overdue=True)
    first = next_deadline(state)
    assert first is not None and first.kind is DeadlineKind.decision
    assert first.passed(date(2027, 3, 11)) and first.days_left(date(2027, 3, 11)) == -1


def test_deemed_denied_waits_on_staff_past_the_statute_and_on_the_parent_to_appeal() -> None:
    state = interdistrict(Stage.deemed_denied, decision_due=date(2027, 3, 1), statutory_due=D,
                          appeal_deadline=date(2027, 4, 10))
    assert shape(deadlines(state)) == [
        ("statutory", D, "staff"), ("appeal", date(2027, 4, 10), "parent")]


def test_denied_waits_on_the_parents_appeal() -> None:
    state = interdistrict(Stage.denied, decision_due=date(2027, 3, 1), appeal_deadline=D)
    assert shape(deadlines(state)) == [("appeal", D, "parent")]


@pytest.mark.parametrize("student", [{"expelled": True}, {"pending_expulsion": True}])
def test_a_student_who_may_not_appeal_has_no_appeal_deadline(student: dict) -> None:
    state = interdistrict(Stage.denied, appeal_deadline=D, request={"student": student})
    assert deadlines(state) == []


def test_appeal_pending_waits_on_the_county() -> None:
    state = interdistrict(Stage.appeal_pending, appeal_deadline=date(2027, 3, 1),
                          appeal_filed_on=date(2027, 2, 20), appeal_decision_due=D)
    assert shape(deadlines(state)) == [("county", D, "county")]


@pytest.mark.parametrize("stage", sorted(CLOSED_STAGES))
def test_a_closed_request_waits_on_nothing(stage: Stage) -> None:
    state = interdistrict(stage, decision_due=D, statutory_due=D, appeal_deadline=D,
                          appeal_decision_due=D, documents_due=D, release_due=D)
    assert deadlines(state) == []


# ---- within the district ----------------------------------------------------------------


def test_within_waits_on_each_pending_recommendation_undated() -> None:
    state = within(WithinStage.awaiting_recommendation,
                   flags=[RecommendationKind.discipline, RecommendationKind.special_education])
    assert [(d.kind, d.due, d.waits_on, d.action) for d in deadlines(state)] == [
        (DeadlineKind.recommendation, None, WaitsOn.staff, "within.recommend.discipline"),
        (DeadlineKind.recommendation, None, WaitsOn.staff,
         "within.recommend.special_education"),
    ]


def test_within_current_year_review_waits_on_the_designee_undated() -> None:
    state = within(WithinStage.under_review, kind=WithinKind.current_year)
    assert shape(deadlines(state)) == [("decision", None, "staff")]


def test_within_offer_waits_on_the_parent_until_its_last_day() -> None:
    state = within(WithinStage.offered, offer_deadline=D)
    assert shape(deadlines(state)) == [("offer", D, "parent")]


@pytest.mark.parametrize("stage", [WithinStage.submitted, WithinStage.in_lottery,
                                   WithinStage.waitlisted, WithinStage.placed,
                                   *sorted(ENDED_WITHIN_STAGES)])
def test_within_stages_the_lottery_moves_or_that_ended_wait_on_nothing(
    stage: WithinStage,
) -> None:
    assert deadlines(within(stage, offer_deadline=D)) == []


# ---- the boundaries and the actions ------------------------------------------------------


def test_the_last_day_itself_is_not_passed() -> None:
    deadline = Deadline(DeadlineKind.documents, D, WaitsOn.parent, "add_document")
    assert (deadline.days_left(date(2027, 3, 9)), deadline.passed(date(2027, 3, 9))) == (1, False)
    assert (deadline.days_left(D), deadline.passed(D)) == (0, False)
    assert (deadline.days_left(date(2027, 3, 11)), deadline.passed(date(2027, 3, 11))) == (
        -1, True)


def test_an_undated_wait_never_passes() -> None:
    deadline = Deadline(DeadlineKind.recommendation, None, WaitsOn.staff, "within.decide")
    assert (deadline.days_left(D), deadline.passed(D)) == (None, False)


def test_every_deadline_names_an_action_of_the_roles_table() -> None:
    states = [
        interdistrict(Stage.awaiting_documents, documents_due=D),
        interdistrict(Stage.awaiting_release, release_due=D),
        interdistrict(Stage.under_review, decision_due=D, statutory_due=date(2027, 4, 1)),
        interdistrict(Stage.deemed_denied, statutory_due=D, appeal_deadline=D),
        interdistrict(Stage.appeal_pending, appeal_decision_due=D),
        within(WithinStage.awaiting_recommendation, flags=list(RecommendationKind)),
        within(WithinStage.under_review, kind=WithinKind.current_year),
        within(WithinStage.offered, offer_deadline=D),
    ]
    actions = {d.action for state in states for d in deadlines(state)}
    assert len(actions) == 10 and actions <= set(ACTION_ROLES)
