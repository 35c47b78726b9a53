"""Notices to parents and staff."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field


class NoticeKind(StrEnum):
    receipt = "receipt"
    missing_documents = "missing_documents"
    approved = "approved"
    denied = "denied"
    deemed_denied = "deemed_denied"
    abandoned = "abandoned"
    withdrawn = "withdrawn"
    release_refused = "release_refused"
    appeal_received = "appeal_received"
    appeal_upheld = "appeal_upheld"
    appeal_granted = "appeal_granted"
    staff_reminder = "staff_reminder"
    staff_escalation = "staff_escalation"


class Notice(BaseModel):
    """One notice to send. ``key`` makes it idempotent: (request, kind, sequence)."""

    key: str = Field(min_length=1, max_length=300)
    request_id: str
    kind: NoticeKind
    sender: str
    to: list[str] = Field(min_length=1)
    facts: dict[str, Any] = Field(default_factory=dict)
