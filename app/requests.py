"""A request of either process: finding it, showing it with its audit trail, listing what is
due, its notices, and the interdistrict staff actions (seed 000: documents, the release, the
decision, appeals, withdrawal). The within-district actions are in `app.within`.

Actions go to the request's workflow as Updates, which check the role, the stage and the
policy and have the last word; a request that has closed is refused here from the records
store, since its workflow may no longer run to answer."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from app import context
from app.errors import Refused
from app.principal import Principal
from models import actions
from models.decisions import AppealOutcome, DenialReason, ExtensionCircumstance, Outcome
from models.documents import DocumentKind
from models.people import Actor
from models.stages import Stage
from models.state import RequestState
from models.within_request import WithinRequestState, WithinStage
from rules.roles import check_role
from store import notices as notice_store
from store import records

# Temporal's SDK and the workflows are imported in the functions that send or ask: `show` and
# `list` start without them (docs/cross-cutting.md "Settings").

AnyState = RequestState | WithinRequestState
S = TypeVar("S", RequestState, WithinRequestState)
STAGES = list(Stage.__members__) + [s for s in WithinStage.__members__
                                    if s not in Stage.__members__]


# ---- finding ----------------------------------------------------------------------------


def get(request_id: str) -> AnyState:
    """A request of either process, from the records store."""
    state = records.get_request(context.engine(), request_id)
    if state is None:
        raise Refused(f"no request {request_id!r}")
    return state


def get_of(request_id: str, process: type[S], refusal: str) -> S:
    """A request that must be of one process; ``refusal`` says why another will not do."""
    state = get(request_id)
    if not isinstance(state, process):
        raise Refused(f"request {request_id} is {refusal}")
    return state


def interdistrict(request_id: str) -> RequestState:
    """An interdistrict permit request from the records store."""
    return get_of(request_id, RequestState,
                  "a within-district request: this command is for interdistrict permits")


def with_history(state: AnyState) -> AnyState:
    """The request with its whole audit trail, as the records store holds it."""
    return state.model_copy(update={"history": records.get_history(
        context.engine(), state.id, within=isinstance(state, WithinRequestState))})


def list_due(
    stage: str | None = None,
    overdue: bool = False,
    due_before: date | None = None,
    district: str | None = None,
    open_only: bool = False,
) -> Sequence[Any]:
    """What is due: requests of both processes from the records store, soonest first."""
    if stage is not None and stage not in STAGES:
        raise Refused(f"unknown stage {stage!r} (one of: {', '.join(STAGES)})")
    return records.list_requests(
        context.engine(), district=district, stage=stage, overdue=overdue,
        due_before=due_before, open_only=open_only,
    )


def notices(request_id: str | None = None) -> Sequence[Any]:
    """Notices and their delivery records: one request's, or all."""
    return notice_store.list_notices(context.engine(), request_id)


# ---- interdistrict staff actions (seed 000) ---------------------------------------------


async def _act(state: RequestState, update_: Any, action: actions.StaffAction) -> RequestState:
    from app.temporal import update

    if not state.is_open:
        raise Refused(f"request {state.id} is closed ({state.stage.value})")
    result: RequestState = await update(state.id, update_, action, result_type=RequestState)
    return result


def _staff_of(state: RequestState, principal: Principal) -> Actor:
    return context.staff(context.district(state.request.district), principal)


@dataclass
class DocumentUpload:
    """A file a person hands in, what it is, and the name to keep it under."""

    path: Path
    kind: DocumentKind
    name: str


async def add_documents(
    request_id: str, uploads: list[DocumentUpload], principal: Principal
) -> RequestState:
    """Record a document, or a parent's packet of several in one action (an audit entry
    each). Every file is streamed in and checked before any is placed; each is stored
    content-addressed by its sha256 before the Update records it."""
    from workflows.interdistrict_permit import InterdistrictPermitWorkflow

    if len(uploads) > actions.MAX_DOCUMENTS_AT_ONCE:
        raise Refused(f"{len(uploads)} files: at most {actions.MAX_DOCUMENTS_AT_ONCE} in one "
                      "action")
    state = interdistrict(request_id)
    staff = _staff_of(state, principal)
    check_role("add_document", staff.name, staff.roles)  # before anything is stored
    if not state.is_open:
        raise Refused(f"request {request_id} is closed ({state.stage.value})")
    # Every file streamed in and checked before any is placed: all of the packet, or none.
    stored = context.documents().put_files([(u.name, u.path) for u in uploads])
    documents = [
        actions.DocumentFile(kind=u.kind, name=d.name, sha256=d.sha256, size=d.size)
        for u, d in zip(uploads, stored, strict=True)
    ]
    if len(documents) == 1:  # one document: the Update every worker version knows
        one = actions.AddDocument(actor=staff, **documents[0].model_dump())
        return await _act(state, InterdistrictPermitWorkflow.add_document, one)
    packet = actions.AddDocuments(actor=staff, documents=documents)
    return await _act(state, InterdistrictPermitWorkflow.add_documents, packet)


async def _send(
    request_id: str,
    principal: Principal,
    update_: Any,
    build: Callable[[Actor], actions.StaffAction],
) -> RequestState:
    """The action ``build`` makes for the principal as the roster has them, sent."""
    state = interdistrict(request_id)
    return await _act(state, update_, build(_staff_of(state, principal)))


async def record_release(
    request_id: str, principal: Principal, granted: bool, note: str = ""
) -> RequestState:
    """The district of residence's release (into the district)."""
    from workflows.interdistrict_permit import InterdistrictPermitWorkflow

    return await _send(request_id, principal, InterdistrictPermitWorkflow.record_release,
                       lambda staff: actions.RecordRelease(actor=staff, granted=granted, note=note))


async def start_provisional(
    request_id: str, principal: Principal, first_attended: date, note: str = ""
) -> RequestState:
    """EC 46603: the pupil attends provisionally from ``first_attended`` (into the district),
    for at most two school months while the request or its appeal is pending."""
    from workflows.interdistrict_permit import InterdistrictPermitWorkflow

    return await _send(
        request_id, principal, InterdistrictPermitWorkflow.start_provisional_attendance,
        lambda staff: actions.StartProvisional(actor=staff, first_attended=first_attended,
                                               note=note),
    )


async def decide(
    request_id: str,
    principal: Principal,
    outcome: Outcome,
    reasons: list[DenialReason],
    school: str | None = None,
    note: str = "",
) -> RequestState:
    """Approve, or deny citing at least one of the seed's reasons."""
    from workflows.interdistrict_permit import InterdistrictPermitWorkflow

    return await _send(request_id, principal, InterdistrictPermitWorkflow.decide,
                       lambda staff: actions.Decide(actor=staff, outcome=outcome,
                                                    reasons=reasons, school=school, note=note))


async def file_appeal(
    request_id: str, principal: Principal, filed_on: date | None = None, note: str = ""
) -> RequestState:
    from workflows.interdistrict_permit import InterdistrictPermitWorkflow

    return await _send(request_id, principal, InterdistrictPermitWorkflow.file_appeal,
                       lambda staff: actions.FileAppeal(actor=staff, filed_on=filed_on, note=note))


async def extend_appeal(
    request_id: str, principal: Principal, reason: str, note: str = "",
    circumstance: ExtensionCircumstance | None = None,
) -> RequestState:
    """The county's decision extended to 60 days (EC 46601: a class 1 or 2 county, in one
    of the statute's circumstances; the workflow refuses it otherwise)."""
    from workflows.interdistrict_permit import InterdistrictPermitWorkflow

    return await _send(request_id, principal, InterdistrictPermitWorkflow.extend_appeal,
                       lambda staff: actions.ExtendAppeal(actor=staff, reason=reason, note=note,
                                                          circumstance=circumstance))


async def record_appeal_outcome(
    request_id: str, principal: Principal, outcome: AppealOutcome, note: str = ""
) -> RequestState:
    from workflows.interdistrict_permit import InterdistrictPermitWorkflow

    return await _send(
        request_id, principal, InterdistrictPermitWorkflow.record_appeal_outcome,
        lambda staff: actions.RecordAppealOutcome(actor=staff, outcome=outcome, note=note),
    )


async def withdraw(request_id: str, principal: Principal, note: str = "") -> RequestState:
    """Withdraw an interdistrict request at any open stage (on the parent's behalf)."""
    from workflows.interdistrict_permit import InterdistrictPermitWorkflow

    return await _send(request_id, principal, InterdistrictPermitWorkflow.withdraw,
                       lambda staff: actions.Withdraw(actor=staff, note=note))
