"""An approved transfer's permit, which lives for years (seed 000 "What is an interdistrict
attendance permit?" and "... rescinded, or revoked"; seed 004 section IV;
docs/permits.md "One workflow per permit")."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import EmailStr, Field

from models.audit import AuditEntry
from models.base import Model
from models.district import DistrictSnapshot
from models.people import Actor
from models.text import Line, Text


class RevocationReason(StrEnum):
    """Seed 000, "An interdistrict permit may be rescinded or revoked under ..."."""

    academic_effort = "academic_effort"
    attendance = "attendance"
    behavior = "behavior"
    false_information = "false_information"
    continuance_inadvisable = "continuance_inadvisable"


class PermitProcess(StrEnum):
    interdistrict = "interdistrict"  # seed 000: the permit between two districts
    within_district = "within_district"  # seed 004: a transfer between the district's schools


class PermitCondition(StrEnum):
    """How long the permit holds without a new request."""

    reapply_annually = "reapply_annually"  # seed 000: both districts agreed, on the permit
    until_level_end = "until_level_end"  # seed 000 (matriculation) and seed 004 IV.D


class PermitStage(StrEnum):
    # Out of the district: issued, valid on the district of enrollment's endorsement
    # (EC 46600(a)(3)), which staff record.
    awaiting_endorsement = "awaiting_endorsement"
    active = "active"
    renewal_due = "renewal_due"  # reapply annually: the renewal window is open
    lapsed = "lapsed"  # not renewed by the district's deadline
    revoked = "revoked"  # rescinded or revoked (seed 000), or IV.A (seed 004)
    moved = "moved"  # a new district of residence must grant its own permit (seed 000)
    transferred = "transferred"  # another school of the district: a new request (seed 000)
    level_completed = "level_completed"  # matriculation (seed 000) / the level's end (IV.D)


ENDED_PERMIT_STAGES = frozenset(
    {
        PermitStage.lapsed,
        PermitStage.revoked,
        PermitStage.moved,
        PermitStage.transferred,
        PermitStage.level_completed,
    }
)


class PermitPolicy(DistrictSnapshot):
    """The district's dates and contacts a permit needs, fixed when it is issued."""

    renewal_opens_month: int = Field(default=1, ge=1, le=12)  # seed 000: January 15
    renewal_opens_day: int = Field(default=15, ge=1, le=31)
    renewal_deadline_month: int = Field(default=3, ge=1, le=12)  # the district's deadline
    renewal_deadline_day: int = Field(default=31, ge=1, le=31)
    # Staff are reminded this many days before the endorsement is due (EC 46600(a)(3)).
    endorsement_reminder_days_before: int = Field(default=7, ge=0)


class PermitHolder(Model):
    student_id: str
    student_name: str
    parent_name: str
    parent_email: EmailStr
    language: str = "en"


# The permit's audit entry (models/audit.py): its events were never numbered.
PermitEvent = AuditEntry[PermitStage]


class PermitState(Model):
    """What a permit is now; carried from one school year's run to the next."""

    id: str
    request_id: str
    district: str
    process: PermitProcess
    lottery_id: str | None = None  # within the district: the lottery a freed seat goes back to
    holder: PermitHolder
    school: str  # where the permit lets the student attend ("" when another district's)
    school_name: str
    program: str = "regular"
    home_school: str = ""  # within the district: where the student returns (IV.A)
    condition: PermitCondition
    school_year: str  # the school year now
    grade: int = Field(ge=0, le=12)  # the student's grade in ``school_year``
    level_last_grade: int = Field(ge=0, le=12)  # the level ends after this grade
    stage: PermitStage = PermitStage.active
    renewed_for: str | None = None  # the school year a renewal was recorded for
    ended_on: date | None = None
    reason: str = ""
    years: int = 1  # school years lived, this one included
    # The agreement it was issued under (EC 46600(a)): its partner, and the revocation reasons
    # it provides for (None: issued before agreements, or none listed: the seed's reasons).
    agreement: str = ""
    revocation_reasons: list[RevocationReason] | None = None
    # Out of the district (EC 46600(a)(3)): valid on the endorsement of the district of
    # enrollment, expected by ``endorsement_due`` (None: not needed, or issued before this).
    issued_on: date | None = None
    endorsement_due: date | None = None
    endorsed_on: date | None = None
    endorsed_by: str = ""
    events: list[PermitEvent] = Field(default_factory=list)  # this school year's only

    @property
    def is_active(self) -> bool:
        return self.stage not in ENDED_PERMIT_STAGES

    @property
    def awaits_endorsement(self) -> bool:
        return self.endorsement_due is not None and self.endorsed_on is None


class PermitInput(Model):
    state: PermitState
    policy: PermitPolicy


class Revoke(Model):
    actor: Actor
    reasons: list[RevocationReason] = Field(default_factory=list)
    note: Text = Field(default="", max_length=2000)


class Renew(Model):
    actor: Actor
    school_year: str = Field(pattern=r"^\d{4}-\d{4}$")  # the year renewed for


class Moved(Model):
    """The family moved. ``new_district`` None: inside the district (seed 004 IV.B)."""

    actor: Actor
    new_district: Line | None = Field(default=None, max_length=200)
    on: date | None = None


class TransferElsewhere(Model):
    """The student transfers to another school of the district of enrollment (seed 000)."""

    actor: Actor
    school: Line = Field(min_length=1, max_length=200)


class Endorse(Model):
    """The district of enrollment endorsed the permit (EC 46600(a)(3)); ``on`` the day it
    did (today when not given)."""

    actor: Actor
    on: date | None = None
    note: Text = Field(default="", max_length=2000)


class AppealRevocation(Model):
    actor: Actor
