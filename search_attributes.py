"""The search attributes every process keeps current, for the Temporal Web UI and
``temporal workflow list --query``: where a request stands, whose it is, and what is due.

No student data goes in them: Temporal's visibility store is not encrypted (``codec.py``
encrypts payloads only), so they hold the stage, the district, the school year and the date
the next decision is due, and nothing that names a student.

Every server the workflows run on must have them registered: ``transfers dev`` and the tests
call `register`; the compose stack runs ``temporal operator search-attribute create`` with
the names and types in `ATTRIBUTES`.
"""

from __future__ import annotations

from datetime import date, datetime

from temporalio import workflow
from temporalio.common import (
    SearchAttributeKey,
    SearchAttributePair,
    SearchAttributeUpdate,
    TypedSearchAttributes,
)

import rules.calendar as calendar
from models.stages import Stage
from models.state import RequestState
from workflows import versions

STAGE = SearchAttributeKey.for_keyword("TransferStage")
DISTRICT = SearchAttributeKey.for_keyword("TransferDistrict")
SCHOOL_YEAR = SearchAttributeKey.for_keyword("TransferSchoolYear")  # e.g. "2027-2028"
DECISION_DUE = SearchAttributeKey.for_datetime("TransferDecisionDue")

ATTRIBUTES: dict[str, str] = {
    STAGE.name: "Keyword",
    DISTRICT.name: "Keyword",
    SCHOOL_YEAR.name: "Keyword",
    DECISION_DUE.name: "Datetime",
}
"""Name -> the type as ``temporal operator search-attribute create --type`` spells it."""


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


async def register(client: object) -> None:
    """Register the attributes on the client's namespace; those already there are kept."""
    from temporalio.api.enums.v1 import IndexedValueType
    from temporalio.api.operatorservice.v1 import (
        AddSearchAttributesRequest,
        ListSearchAttributesRequest,
    )
    from temporalio.client import Client
    from temporalio.service import RPCError, RPCStatusCode

    assert isinstance(client, Client)
    kinds = {
        "Keyword": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
        "Datetime": IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
    }
    existing: set[str] = set()
    try:
        listed = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=client.namespace)
        )
        existing = set(listed.custom_attributes)
    except RPCError as error:  # the time-skipping test server can add but not list
        if error.status != RPCStatusCode.UNIMPLEMENTED:
            raise
    missing = {name: kinds[kind] for name, kind in ATTRIBUTES.items() if name not in existing}
    if not missing:
        return
    try:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=client.namespace, search_attributes=missing)
        )
    except RPCError as error:
        if error.status != RPCStatusCode.ALREADY_EXISTS:
            raise


def dev_server_flags() -> list[str]:
    """``temporal server start-dev`` flags that register the attributes at start."""
    pairs = (("--search-attribute", f"{name}={kind}") for name, kind in ATTRIBUTES.items())
    return [flag for pair in pairs for flag in pair]
