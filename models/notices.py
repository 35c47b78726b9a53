"""Notices to parents and staff."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import Field

from models.base import Model


class NoticeKind(StrEnum):
    receipt = "receipt"
    missing_documents = "missing_documents"
    file_complete = "file_complete"  # complete: under review, the decision's last day
    approved = "approved"
    denied = "denied"
    deemed_denied = "deemed_denied"
    abandoned = "abandoned"
    withdrawn = "withdrawn"
    release_refused = "release_refused"
    appeal_received = "appeal_received"
    appeal_upheld = "appeal_upheld"
    appeal_granted = "appeal_granted"
    provisional_started = "provisional_started"  # EC 46603
    provisional_ended = "provisional_ended"
    staff_reminder = "staff_reminder"
    staff_escalation = "staff_escalation"
    staff_endorsement_reminder = "staff_endorsement_reminder"  # EC 46600(a)(3)
    staff_agreement_ending = "staff_agreement_ending"  # EC 46600(a)(1)
    # Within-district transfers (seed 004, Rule 5110.1)
    within_receipt = "within_receipt"
    within_placed = "within_placed"
    within_waitlisted = "within_waitlisted"
    within_denied = "within_denied"
    within_offer = "within_offer"
    within_offer_expired = "within_offer_expired"
    within_declined = "within_declined"
    within_withdrawn = "within_withdrawn"
    # A permit's life after approval (both processes)
    permit_renewal_open = "permit_renewal_open"
    permit_lapsed = "permit_lapsed"
    permit_level_ending = "permit_level_ending"
    permit_ended = "permit_ended"
    permit_revoked = "permit_revoked"


class Notice(Model):
    """One notice to send. ``key`` makes it idempotent: (request, kind, sequence)."""

    key: str = Field(min_length=1, max_length=300)
    request_id: str
    kind: NoticeKind
    sender: str
    to: list[str] = Field(min_length=1)
    facts: dict[str, Any] = Field(default_factory=dict)
    # The parent's language ("es", "es-MX"...): the notice is rendered in it, or in English
    # with a note on its delivery record when there is no template in it.
    language: str = "en"
    # The district's staff: told once when this notice cannot be delivered after several
    # attempts (activities.notices.ESCALATE_AFTER). Empty: the escalation is recorded only.
    staff: list[str] = Field(default_factory=list)
