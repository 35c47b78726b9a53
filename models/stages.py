"""Stages of the interdistrict permit process (docs/interdistrict.md "Stages")."""

from __future__ import annotations

from enum import StrEnum


class Stage(StrEnum):
    submitted = "submitted"
    awaiting_documents = "awaiting_documents"
    awaiting_release = "awaiting_release"  # into the district only
    under_review = "under_review"
    deemed_denied = "deemed_denied"  # EC 46600.1: no written decision in the 46600.2 time
    approved = "approved"
    denied = "denied"
    appeal_pending = "appeal_pending"
    denied_final = "denied_final"
    abandoned = "abandoned"
    withdrawn = "withdrawn"
    release_refused = "release_refused"


CLOSED_STAGES: frozenset[Stage] = frozenset(
    {Stage.approved, Stage.denied_final, Stage.abandoned, Stage.withdrawn, Stage.release_refused}
)
OPEN_STAGES: frozenset[Stage] = frozenset(Stage) - CLOSED_STAGES
# Stages in which the district owes a decision.
DECIDABLE_STAGES: frozenset[Stage] = frozenset({Stage.under_review, Stage.deemed_denied})
# Stages in which a denial letter's appeal window is running.
APPEALABLE_STAGES: frozenset[Stage] = frozenset({Stage.denied, Stage.deemed_denied})
