"""Inputs of the staff actions (workflow Updates)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from models.decisions import AppealOutcome, DenialReason, Outcome
from models.documents import DocumentKind
from models.people import Actor


class StaffAction(BaseModel):
    actor: Actor
    note: str = Field(default="", max_length=2000)


class AddDocument(StaffAction):
    kind: DocumentKind
    name: str = Field(min_length=1, max_length=255)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0)


class RecordRelease(StaffAction):
    granted: bool


class Decide(StaffAction):
    outcome: Outcome
    reasons: list[DenialReason] = Field(default_factory=list)
    school: str | None = Field(default=None, max_length=100)


class FileAppeal(StaffAction):
    filed_on: date | None = None  # defaults to today in the district's zone


class RecordAppealOutcome(StaffAction):
    outcome: AppealOutcome


class ExtendAppeal(StaffAction):
    """A county may extend its decision from 30 to 60 days with a stated reason."""

    reason: str = Field(min_length=1, max_length=2000)


class Withdraw(StaffAction):
    pass
