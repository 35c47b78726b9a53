"""The request's current state: what a query returns and what the records store keeps."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import Field

from models.audit import NumberedEntry
from models.base import Model
from models.decisions import AppealOutcome, DenialReason
from models.documents import DocumentKind, DocumentRecord
from models.requests import InterdistrictRequest
from models.stages import OPEN_STAGES, Stage

HistoryEntry = NumberedEntry[Stage]  # the request's audit entry (models/audit.py)


class ProvisionalAttendance(Model):
    """EC 46603: the pupil attends the district of proposed enrollment provisionally, at
    most two school months from the first day attended, while the request or its appeal is
    pending (rules/provisional.py)."""

    first_day: date  # the first day attended, as staff recorded it
    last_day: date  # the 40th school day counting the first
    recorded_by: str
    ended_on: date | None = None  # the day it ended with no decision


class RequestState(Model):
    id: str
    request: InterdistrictRequest
    timezone: str
    stage: Stage = Stage.submitted
    received_at: datetime
    received_by: str | None = None  # who received it, for a paper form
    entered_at: datetime | None = None  # when it was entered, for a paper form
    missing_documents: list[DocumentKind] = Field(default_factory=list)
    documents: list[DocumentRecord] = Field(default_factory=list)
    documents_due: date | None = None
    release_due: date | None = None
    review_started_at: datetime | None = None
    decision_due: date | None = None  # last day: the earlier of the statute and the promise
    statutory_due: date | None = None  # last day under EC 46600.2
    overdue: bool = False
    decided_at: datetime | None = None
    denial_reasons: list[DenialReason] = Field(default_factory=list)
    assigned_school: str | None = None
    permit_id: str | None = None
    appeal_deadline: date | None = None  # last day to file with the county
    appeal_filed_on: date | None = None
    appeal_decision_due: date | None = None
    appeal_outcome: AppealOutcome | None = None
    provisional: ProvisionalAttendance | None = None
    history: list[HistoryEntry] = Field(default_factory=list)

    @property
    def is_open(self) -> bool:
        return self.stage in OPEN_STAGES


class RecordedEvents(Model):
    """The input of the ``record_events`` activity: the state, and the first sequence number
    of the history entries to write (those an Update added together)."""

    state: RequestState
    since: int = Field(ge=1)
