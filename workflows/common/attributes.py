"""Keeping a workflow's search attributes (`models/search_attributes.py`) current, for the
Temporal Web UI and ``temporal workflow list --query``: the stage, the district, the school
year and what is due, never anything that names a student."""

from __future__ import annotations

from datetime import date, datetime

from temporalio import workflow
from temporalio.common import (
    SearchAttributePair,
    SearchAttributeUpdate,
    TypedSearchAttributes,
)

import rules.calendar as calendar
from models.search_attributes import DECISION_DUE, DISTRICT, SCHOOL_YEAR, STAGE
from models.stages import Stage
from models.state import RequestState
from workflows.common import versions


def updates(
    stage: str, district: str, school_year: str, decision_due: datetime | None
) -> list[SearchAttributeUpdate]:
    """The upsert for a stage change; a cleared due date removes the attribute."""
    return [
        STAGE.value_set(stage),
        DISTRICT.value_set(district),
        SCHOOL_YEAR.value_set(school_year),
        DECISION_DUE.value_set(decision_due) if decision_due else DECISION_DUE.value_unset(),
    ]


def at_start(stage: str, district: str, school_year: str) -> TypedSearchAttributes:
    """What a workflow is started with: its first stage, nothing due yet. Its first
    ``Publisher.publish`` then has nothing to change, which saves the server one upsert (a
    history event and a visibility write) per workflow."""
    return TypedSearchAttributes([
        SearchAttributePair(STAGE, stage),
        SearchAttributePair(DISTRICT, district),
        SearchAttributePair(SCHOOL_YEAR, school_year),
    ])


# What an interdistrict request waits on in each open stage: the documents, the other
# district's release, the decision (EC 46600.2), the parent's appeal to the county (EC 46601)
# and the county's decision.
_INTERDISTRICT_DUE: dict[Stage, str] = {
    Stage.submitted: "documents_due",
    Stage.awaiting_documents: "documents_due",
    Stage.awaiting_release: "release_due",
    Stage.under_review: "decision_due",
    Stage.denied: "appeal_deadline",
    Stage.deemed_denied: "appeal_deadline",
    Stage.appeal_pending: "appeal_decision_due",
}


def interdistrict_due(state: RequestState) -> date | None:
    """The last day of what the request waits on now; None once it is closed."""
    field = _INTERDISTRICT_DUE.get(state.stage)
    return getattr(state, field) if field else None


class Publisher:
    """Keeps one workflow's attributes current: an upsert when a value changed, none else.

    Workflows started before the attributes existed never upsert (``workflow.patched``), so
    their histories replay."""

    def __init__(self, district: str, school_year: str, timezone: str) -> None:
        self._fixed = (district, school_year)
        self._timezone = timezone
        self._last: tuple[str, datetime | None] | None = None

    def publish(self, stage: str, due: date | datetime | None) -> None:
        """``due``: an instant, or a last day (due at its end in the district's time zone)."""
        # Due at the end of its last day, so "TransferDecisionDue < now" means overdue.
        if isinstance(due, datetime) or due is None:
            instant = due
        else:
            instant = calendar.end_of_day(due, self._timezone)
        if self._last is None:
            self._last = self._started_with()
        if (stage, instant) == self._last or not versions.patched("search-attributes"):
            return
        self._last = (stage, instant)
        workflow.upsert_search_attributes(updates(stage, *self._fixed, instant))

    def _started_with(self) -> tuple[str, datetime | None] | None:
        """The values the run began with (``at_start``, or carried over by continue-as-new),
        when they are this workflow's own. Runs started before ``at_start`` existed, or by a
        worker without this check, upserted their first stage anyway: those replay as
        they ran (``workflow.patched``)."""
        found = workflow.info().typed_search_attributes
        stage = found.get(STAGE)
        if stage is None or (found.get(DISTRICT), found.get(SCHOOL_YEAR)) != self._fixed:
            return None
        if not versions.patched("start-attributes"):
            return None
        return (stage, found.get(DECISION_DUE))
