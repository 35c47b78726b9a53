"""The next-year within-district lottery as a workflow keeps it (seed 004, Rule 5110.1 VIII.B;
docs/lottery.md "Audit and verification"): its input, its audit trail, and the record anyone
can re-run the draw from."""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from enum import StrEnum

from pydantic import Field

from models.audit import NumberedEntry
from models.base import Model
from models.people import Actor
from models.within_district import Applicant, LotteryResult, SeatKey


class SeatCount(Model):
    """VII: the seats designated for one seat key (a list, since JSON keys are strings)."""

    key: SeatKey
    seats: int = Field(ge=0)


class LotteryInput(Model):
    """The district policy snapshot one lottery needs, fixed when it starts."""

    id: str = Field(min_length=1)  # e.g. "lottery-millard-2027-2028"
    district_id: str
    school_year: str = Field(pattern=r"^\d{4}-\d{4}$")
    timezone: str
    # VIII.A.2: the last close, when the draw runs: online applications until the end of
    # February 15 (5:00 p.m. in lotteries started before the two closes, or where the
    # district closes online applications then too).
    window_closes: datetime
    # VIII.A.2: forms delivered in person until 5:00 p.m. on February 15, that instant
    # excluded; None: one close for every channel (``window_closes``).
    in_person_closes: datetime | None = None
    notify_by: date  # VIII: parents notified on or before March 1
    escalation_days_before: int = Field(default=7, ge=1)
    seats: list[SeatCount]
    # The staff who entered the seats (VII), ", "-separated; none of them may certify.
    seats_set_by: str = Field(min_length=1)
    overcrowded_schools: list[str] = Field(default_factory=list)  # X.B; empty when off
    notices_from: str
    staff_notices_to: list[str] = Field(min_length=1)
    seed: str | None = None  # fixed at start from workflow.uuid4() when not given
    # After certification the lottery keeps the seats of the school year: offers from the
    # waitlists (VIII.B) and the reopened window (VIII.A.3), until the first day of school
    # (then the current-year process, IX, takes over: docs/lottery.md "Closing the ledger").
    # None: end once released.
    ledger_closes: datetime | None = None
    reopens: datetime | None = None  # VIII.A.3: after option enrollment completes
    offer_accept_days: int = Field(default=10, ge=1)
    applications_per_run: int = Field(default=1000, ge=1)  # see LotteryWorkflow.run
    carried: LotteryRecord | None = None  # the record, when the lottery goes on in a new run
    # Paper forms (docs/lottery.md "Paper forms after the close"): a form received in the
    # window may be entered within ``paper_entry_days`` of its receipt, until
    # ``paper_entry_closes`` for the last of them; the draw is certified only after that.
    # None in lotteries started before paper forms.
    window_opens: datetime | None = None
    paper_entry_days: int | None = Field(default=None, ge=0)
    paper_entry_closes: datetime | None = None


class LotteryStage(StrEnum):
    collecting = "collecting"  # the window is open
    preview = "preview"  # drawn, not certified: no parent is told
    certified = "certified"  # a second staff member certified it: the result is released
    closed = "closed"  # the first day of school: the seats' ledger ends


class OfferAnswer(Model):
    application_id: str = Field(min_length=1)
    actor: Actor  # who recorded the parent's answer (student services)


class AddSeats(Model):
    """VII: the designee opens more seats after the draw; the next in line are offered them."""

    key: SeatKey
    seats: int = Field(ge=1, le=1000)
    actor: Actor


LotteryEvent = NumberedEntry[LotteryStage]  # the lottery's audit entry (models/audit.py)


class RecordedApplicant(Model):
    """One application in the draw, with the tier and random number it was drawn with."""

    applicant: Applicant
    tier: str | None  # VIII.C label; None when refused before ranking (no transfer needed)
    random_number: int | None  # None only in a sealed record (``LotteryRecord.published``)
    entered_at: datetime


class Offer(Model):
    """A freed seat offered to the next in line, open through ``last_day``."""

    application_id: str
    student_id: str
    key: SeatKey
    offered_at: datetime
    last_day: date


class WaitlistLine(Model):
    key: SeatKey
    application_ids: list[str]  # in drawn order (then order of receipt, VIII.A.3)


def seed_commitment(seed: str) -> str:
    """What a lottery publishes of its seed when it opens (docs/lottery.md "The sealed
    seed"): the seed's SHA-256. Before the draw nobody can compute a student's number from it;
    after the draw anyone can check that the seed revealed is the one fixed at the opening."""
    return "sha256:" + hashlib.sha256(seed.encode()).hexdigest()


class LotteryRecord(Model):
    """Everything needed to re-run the draw (seed, inputs, seats) and what it gave."""

    id: str
    district_id: str
    school_year: str
    seed: str  # "" while sealed: the record as shown before the draw (``published``)
    seed_commitment: str = ""  # published when the lottery opened; "" for lotteries before it
    stage: LotteryStage
    window_closes: datetime
    applicants: list[RecordedApplicant] = Field(default_factory=list)
    withdrawn: list[RecordedApplicant] = Field(default_factory=list)
    seats: list[SeatCount] = Field(default_factory=list)
    overcrowded_schools: list[str] = Field(default_factory=list)
    result: LotteryResult | None = None
    drawn_at: datetime | None = None
    certified: bool = False
    certified_by: str | None = None
    certified_at: datetime | None = None
    seats_set_by: str = ""
    history: list[LotteryEvent] = Field(default_factory=list)
    # The seats after the draw, kept current (not part of what ``verify`` re-runs):
    reopened: list[RecordedApplicant] = Field(default_factory=list)  # VIII.A.3, in receipt order
    seats_left: list[SeatCount] = Field(default_factory=list)
    waitlists: list[WaitlistLine] = Field(default_factory=list)
    offers: list[Offer] = Field(default_factory=list)
    holders: list[str] = Field(default_factory=list)  # application ids holding a seat

    def published(self) -> LotteryRecord:
        """The record as anyone is shown it: until the draw, without its seed."""
        if self.stage is not LotteryStage.collecting:
            return self
        # Each application's number, and a rehearsal's result, would give the order away.
        sealed = [a.model_copy(update={"random_number": None}) for a in self.applicants]
        result = self.result and self.result.model_copy(update={"seed": None})
        return self.model_copy(update={"seed": "", "applicants": sealed, "result": result})

    def seat_map(self) -> dict[SeatKey, int]:
        return {s.key: s.seats for s in self.seats}


LotteryInput.model_rebuild()  # it carries a LotteryRecord, defined after it
