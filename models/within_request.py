"""One student's within-district transfer request (seed 004, Rule 5110.1): what the parent
asks, the stages it goes through, the staff actions on it, and the state the records store
keeps."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import Field

from models.audit import NumberedEntry
from models.base import Model
from models.district import DistrictSnapshot
from models.people import Actor, Parent, StudentBase
from models.roster import RosterCheck
from models.text import Line, Text
from models.within_district import Applicant, Program, Residency, SeatKey, SpecialIssue


class WithinKind(StrEnum):
    """Which window the request came in by; it decides how it is decided."""

    next_year = "next_year"  # VIII.A.1-2: the lottery (VIII.B, VIII.C)
    reopened = "reopened"  # VIII.A.3: first come, first served against the seats left
    current_year = "current_year"  # IX: the superintendent's designee decides (IX.B)


class WithinStudent(StudentBase):
    currently_enrolled: bool = True  # I.A
    residency: Residency  # II
    home_school: Line = Field(min_length=1)  # the school of the attendance area (IV.A)
    current_school: Line = Field(min_length=1)
    current_program: Program = Program.regular
    special_education: bool = False  # III.C
    english_learner: bool = False  # III.D
    suspended: bool = False  # III.A
    expelled: bool = False  # III.A
    extensive_disciplinary_record: bool = False  # III.A: flagged, not refused
    transfers_this_year: int = Field(default=0, ge=0)  # IV.G


class WithinRequest(Model):
    """The Within-District Transfer Request Form (VI.A)."""

    district: Line = Field(min_length=1)
    school_year: str = Field(pattern=r"^\d{4}-\d{4}$")
    student: WithinStudent
    parent: Parent
    school: Line = Field(min_length=1)
    program: Program = Program.regular
    resident_sibling: bool = False  # VIII.C.2.a
    reasons: Text = Field(default="", max_length=4000)  # IX.B.1
    special_issue: SpecialIssue | None = None  # IV.G
    # What intake found in the district's roster (intake/roster_facts.py), never the form's.
    roster: RosterCheck | None = None

    @property
    def seat_key(self) -> SeatKey:
        return SeatKey(school=self.school, program=self.program, grade=self.student.grade)

    def applicant(self, application_id: str) -> Applicant:
        return Applicant(
            application_id=application_id,
            student_id=self.student.id,
            school=self.school,
            program=self.program,
            grade=self.student.grade,
            residency=self.student.residency,
            resident_sibling=self.resident_sibling,
            current_school=self.student.current_school,
        )


class WithinStage(StrEnum):
    submitted = "submitted"
    awaiting_recommendation = "awaiting_recommendation"  # III.A, III.C, III.D
    in_lottery = "in_lottery"  # entered; the certified draw has not come
    under_review = "under_review"  # IX.B: the designee decides
    waitlisted = "waitlisted"
    offered = "offered"  # a freed seat, with a deadline to accept
    placed = "placed"  # approved: its permit holds the transfer for the level (IV.D)
    denied = "denied"
    declined = "declined"
    offer_expired = "offer_expired"
    withdrawn = "withdrawn"


# A request is open while the district owes an answer (VI.C: one open request per student).
# A placement is a closed request: the parents may ask again (IV.C) without undoing it.
OPEN_WITHIN_STAGES = frozenset(
    {
        WithinStage.submitted,
        WithinStage.awaiting_recommendation,
        WithinStage.in_lottery,
        WithinStage.under_review,
        WithinStage.waitlisted,
        WithinStage.offered,
    }
)
ENDED_WITHIN_STAGES = frozenset(
    {
        WithinStage.denied,
        WithinStage.declined,
        WithinStage.offer_expired,
        WithinStage.withdrawn,
    }
)


class RecommendationKind(StrEnum):
    """Who must weigh in before a decision, and on what."""

    discipline = "discipline"  # III.A: best interests of the student or the school
    special_education = "special_education"  # III.C
    english_learner = "english_learner"  # III.D


class Recommendation(Model):
    kind: RecommendationKind
    recommended: bool
    reasoning: Text = Field(min_length=1, max_length=4000)
    by: str
    at: datetime


class Recommend(Model):
    actor: Actor
    kind: RecommendationKind
    recommended: bool
    reasoning: Text = Field(min_length=1, max_length=4000)


class CurrentYearFactors(Model):
    """IX.B: what the designee weighed; each factor is written down."""

    reasons: Text = Field(min_length=1, max_length=2000)  # IX.B.1
    time_of_year: Text = Field(min_length=1, max_length=2000)  # IX.B.2
    capacity_and_staffing: Text = Field(min_length=1, max_length=2000)  # IX.B.3
    educational_program: Text = Field(min_length=1, max_length=2000)  # IX.B.4


class DecideWithin(Model):
    actor: Actor
    approve: bool
    factors: CurrentYearFactors


class WithdrawWithin(Model):
    actor: Actor
    reason: Text = Field(default="", max_length=2000)


class LotteryOutcome(StrEnum):
    placed = "placed"
    waitlisted = "waitlisted"
    denied = "denied"
    offered = "offered"
    offer_expired = "offer_expired"
    declined = "declined"


class LotteryNews(Model):
    """What the lottery tells a request (a Signal): its certified result, then offers."""

    outcome: LotteryOutcome
    lottery_id: str
    waitlist_position: int | None = None
    offer_deadline: date | None = None  # the last day to accept
    reason: str = ""
    seq: int = 0  # the lottery's audit entry, so a repeated signal is recognised


WithinHistoryEntry = NumberedEntry[WithinStage]  # the request's audit entry (models/audit.py)


class WithinRequestState(Model):
    id: str
    request: WithinRequest
    kind: WithinKind
    timezone: str
    stage: WithinStage = WithinStage.submitted
    received_at: datetime
    received_by: str | None = None  # who received it, for a paper form
    entered_at: datetime | None = None  # when it was entered, for a paper form
    lottery_id: str | None = None
    flags: list[RecommendationKind] = Field(default_factory=list)
    recommendations: list[Recommendation] = Field(default_factory=list)
    waitlist_position: int | None = None
    offer_deadline: date | None = None
    decided_at: datetime | None = None
    decided_by: str | None = None
    factors: CurrentYearFactors | None = None
    assigned_school: str | None = None  # where the student attends because of this request
    assigned_program: Program | None = None
    level_ends: date | None = None  # IV.D: the last day of the level's last school year
    permit_id: str | None = None  # the permit a placement issued (workflows/permit.py)
    reason: str = ""  # why denied, revoked or ended
    history: list[WithinHistoryEntry] = Field(default_factory=list)

    @property
    def is_open(self) -> bool:
        return self.stage in OPEN_WITHIN_STAGES

    def pending_recommendations(self) -> list[RecommendationKind]:
        given = {r.kind for r in self.recommendations}
        return [k for k in self.flags if k not in given]


class WithinPolicy(DistrictSnapshot):
    """The part of the district's configuration a request carries, fixed at submission."""

    schools: dict[str, str]  # id -> name


class Span(Model):
    """A window: open from ``opens`` (included) until ``closes`` (excluded)."""

    opens: datetime
    closes: datetime


class YearWindows(Model):
    """The windows of one school year (VIII.A.1-2, VIII.A.3, IX.A), fixed at submission, that
    a request's workflow re-checks its receipt against on its own clock."""

    next_year: Span  # closes with the last channel: online, at the end of February 15
    reopened: Span | None = None
    current_year: Span
    # VIII.A.2: forms delivered in person close earlier, at 5:00 p.m. (None: one close for
    # every channel, as in runs started before the two closes).
    in_person_closes: datetime | None = None


class WithinRequestInput(Model):
    id: str
    request: WithinRequest
    kind: WithinKind
    policy: WithinPolicy
    submitted_by: str
    lottery_id: str | None = None  # next_year and reopened requests
    level_ends: date  # IV.D, from rules.within_levels
    level_last_grade: int = Field(ge=0, le=12)  # the target school's highest grade
    # When the request counts as received (docs/cross-cutting.md "One clock for intake"): a
    # paper form's received time, or the lottery's clock when it entered the application;
    # None: the workflow's clock when it starts. ``received_by``: who received a paper form.
    received_at: datetime | None = None
    received_by: str | None = None
    # What the workflow re-checks at its start (None in runs started before it did).
    windows: YearWindows | None = None
    paper_entry_days: int = 0
