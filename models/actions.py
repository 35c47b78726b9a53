"""Inputs of the staff actions (workflow Updates)."""

from __future__ import annotations

from datetime import date

from pydantic import Field, field_validator

from models.base import Model
from models.decisions import AppealOutcome, DenialReason, ExtensionCircumstance, Outcome
from models.documents import DocumentKind, check_document_name
from models.people import Actor
from models.text import Line, Text


class StaffAction(Model):
    actor: Actor
    note: Text = Field(default="", max_length=2000)


class DocumentFile(Model):
    """A document stored in the document store: what it is, its name and its content's hash."""

    kind: DocumentKind
    name: str = Field(min_length=1, max_length=255)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0)

    @field_validator("name")
    @classmethod
    def _plain_file_name(cls, name: str) -> str:
        """A plain file name, as the CLI stores it: a name sent straight to the workflow is
        held to the same rule (a PolicyError is a ValueError: a validation error)."""
        return check_document_name(name)


class AddDocument(DocumentFile, StaffAction):
    pass


MAX_DOCUMENTS_AT_ONCE = 20  # a parent's packet: every kind a request can need, and more


class AddDocuments(StaffAction):
    """Several documents recorded together (a parent's packet), in the order given."""

    documents: list[DocumentFile] = Field(min_length=1, max_length=MAX_DOCUMENTS_AT_ONCE)


class RecordRelease(StaffAction):
    granted: bool


class Decide(StaffAction):
    outcome: Outcome
    reasons: list[DenialReason] = Field(default_factory=list)
    school: Line | None = Field(default=None, max_length=100)


class FileAppeal(StaffAction):
    filed_on: date | None = None  # defaults to today in the district's zone


class RecordAppealOutcome(StaffAction):
    outcome: AppealOutcome


class ExtendAppeal(StaffAction):
    """A county may extend its decision from 30 to 60 days with a stated reason, in one of
    the circumstances the statute allows (None only in Updates sent before it was asked)."""

    reason: Text = Field(min_length=1, max_length=2000)
    circumstance: ExtensionCircumstance | None = None


class StartProvisional(StaffAction):
    """EC 46603: the first day the pupil attended provisionally."""

    first_attended: date


class Withdraw(StaffAction):
    pass
