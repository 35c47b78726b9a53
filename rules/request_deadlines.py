"""What a request waits on, as data: each deadline still ahead, or passed and unmet, of a
request of either process, with its kind, its last day and whom it waits on
(docs/cross-cutting.md "Worklist and search").

Only the dates the workflows compute and keep on the state are used; a wait with no date
(a within-district recommendation, a current-year decision) has ``due`` None. A deadline is
"passed" when its last day is before today in the district's time zone: it is met by the
stage moving on, so every deadline given here is unmet. Pure: no I/O, no clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from models.stages import Stage
from models.state import RequestState
from models.within_request import WithinRequestState, WithinStage
from rules.eligibility import check_may_appeal
from rules.errors import PolicyError


class DeadlineKind(StrEnum):
    documents = "documents"  # the parent's missing documents (seed 000)
    release = "release"  # the district of residence's release (into the district)
    decision = "decision"  # the district's decision (its promise, or IX.B undated)
    statutory = "statutory"  # the decision's last day under EC 46600.2
    appeal = "appeal"  # the parent's last day to appeal to the county (EC 46601)
    county = "county"  # the county board's decision on an appeal
    offer = "offer"  # a freed seat's offer, its last day to accept (Rule 5110.1 VIII)
    recommendation = "recommendation"  # III.A, III.C, III.D: undated
    certification = "certification"  # a lottery's draw, certified by its notify-by day
    renewal = "renewal"  # a permit renewed each year, by the district's deadline


class WaitsOn(StrEnum):
    staff = "staff"
    parent = "parent"
    county = "county"
    other_district = "other_district"


@dataclass(frozen=True)
class Deadline:
    """One deadline: ``action`` is the `rules.roles.ACTION_ROLES` key of what meets it, so
    a worklist can tell whose roles may act ("mine")."""

    kind: DeadlineKind
    due: date | None
    waits_on: WaitsOn
    action: str

    def days_left(self, today: date) -> int | None:
        """Days until the last day (0: today is the last day; negative: passed)."""
        return None if self.due is None else (self.due - today).days

    def passed(self, today: date) -> bool:
        return self.due is not None and self.due < today


def deadlines(state: RequestState | WithinRequestState) -> list[Deadline]:
    """The request's deadlines now, soonest first (undated ones last); none once closed."""
    if not state.is_open:
        return []
    found = (_within(state) if isinstance(state, WithinRequestState)
             else _interdistrict(state))
    return sorted(found, key=lambda d: (d.due is None, d.due or date.max))


def next_deadline(state: RequestState | WithinRequestState) -> Deadline | None:
    """The one that comes first: the earliest last day, else the first undated wait."""
    found = deadlines(state)
    return found[0] if found else None


def _interdistrict(state: RequestState) -> list[Deadline]:
    stage = state.stage
    found: list[Deadline] = []
    if stage is Stage.awaiting_documents and state.documents_due:
        found.append(Deadline(DeadlineKind.documents, state.documents_due, WaitsOn.parent,
                              "add_document"))
    elif stage is Stage.awaiting_release and state.release_due:
        found.append(Deadline(DeadlineKind.release, state.release_due, WaitsOn.other_district,
                              "record_release"))
    elif stage is Stage.under_review:
        found += _decision(state)
    elif stage is Stage.deemed_denied:
        # EC 46600.1: past the statute the request is denied, and staff may still decide.
        if state.statutory_due:
            found.append(Deadline(DeadlineKind.statutory, state.statutory_due, WaitsOn.staff,
                                  "decide"))
        found += _appeal(state)
    elif stage is Stage.denied:
        found += _appeal(state)
    elif stage is Stage.appeal_pending and state.appeal_decision_due:
        found.append(Deadline(DeadlineKind.county, state.appeal_decision_due, WaitsOn.county,
                              "record_appeal_outcome"))
    return found


def _decision(state: RequestState) -> list[Deadline]:
    """The district's promise and the statute; one deadline when they fall on one day."""
    promise, statute = state.decision_due, state.statutory_due
    found = []
    if promise and (statute is None or promise < statute):
        found.append(Deadline(DeadlineKind.decision, promise, WaitsOn.staff, "decide"))
    if statute:
        found.append(Deadline(DeadlineKind.statutory, statute, WaitsOn.staff, "decide"))
    return found


def _appeal(state: RequestState) -> list[Deadline]:
    """The parent's last day to appeal; none for a student who may not appeal (the letter
    gives no deadline then)."""
    student = state.request.student
    try:
        check_may_appeal(student.expelled, student.pending_expulsion)
    except PolicyError:
        return []
    if state.appeal_deadline is None:
        return []
    return [Deadline(DeadlineKind.appeal, state.appeal_deadline, WaitsOn.parent, "file_appeal")]


def _within(state: WithinRequestState) -> list[Deadline]:
    stage = state.stage
    if stage is WithinStage.awaiting_recommendation:
        return [Deadline(DeadlineKind.recommendation, None, WaitsOn.staff,
                         f"within.recommend.{kind.value}")
                for kind in state.pending_recommendations()]
    if stage is WithinStage.under_review:  # IX.B: the designee decides; no date is set
        return [Deadline(DeadlineKind.decision, None, WaitsOn.staff, "within.decide")]
    if stage is WithinStage.offered and state.offer_deadline:
        return [Deadline(DeadlineKind.offer, state.offer_deadline, WaitsOn.parent,
                         "lottery.answer_offer")]
    return []  # submitted, in the lottery or on its waitlist: the lottery's to move
