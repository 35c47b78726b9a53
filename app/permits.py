"""Permits of approved transfers, which live for years in their own workflow (workflow id =
the permit id ``PERMIT-<request id>``): finding one (the records store, else its workflow),
listing them, and the staff actions (revoke, renew, moved, transfer, leave the program,
appeal), which the permit's workflow checks and has the last word on. A permit that has
ended is refused from the store, without asking its workflow (gone once its school year is
over)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from app import context
from app.errors import Refused
from app.principal import Principal
from districts import list_districts
from models.district import DistrictBase
from models.permits import (
    AppealRevocation,
    Endorse,
    Moved,
    PermitProcess,
    PermitStage,
    PermitState,
    Renew,
    Revoke,
    TransferElsewhere,
)
from rules.permits import check_may_leave_program
from rules.revocation import NOT_APPEALABLE, RevocationReason
from store import permits as permit_store

# Temporal's SDK and the workflows are imported in the functions that send or ask: `show` and
# `list` start without them (docs/cross-cutting.md "Settings").

PERMIT_PREFIX = "PERMIT-"


def _not_found(permit_id: str) -> str:
    hint = "" if permit_id.startswith(PERMIT_PREFIX) else " (a permit's id is PERMIT-<request id>)"
    return f"no permit {permit_id!r}{hint}"


async def _ask_workflow(permit_id: str) -> PermitState:
    """The permit as its workflow knows it (its ``status`` query)."""
    from temporalio.client import WorkflowQueryFailedError
    from temporalio.service import RPCError, RPCStatusCode

    from workflows.permit import PermitWorkflow

    try:
        client = await context.client()
    except Refused as error:
        raise Refused(f"{_not_found(permit_id)} in the records store, and its workflow could "
                      f"not be asked: {error}") from None
    handle = client.get_workflow_handle(permit_id)
    try:
        return await handle.query(PermitWorkflow.status, result_type=PermitState)
    except WorkflowQueryFailedError as error:
        raise Refused(f"{permit_id}: {error.message}") from None
    except RPCError as error:
        if error.status is RPCStatusCode.NOT_FOUND:
            raise Refused(_not_found(permit_id)) from None
        raise Refused(f"{permit_id}: {error.message}") from None


async def get(permit_id: str) -> tuple[PermitState, str]:
    """The permit and where it came from: ``store`` (the records store) or ``workflow``."""
    state = permit_store.get_permit(context.engine(), permit_id)
    if state is not None:
        return state, "store"
    if not permit_id.startswith(PERMIT_PREFIX):
        raise Refused(_not_found(permit_id))
    return await _ask_workflow(permit_id), "workflow"


def list_permits(
    district: str | None = None,
    school_year: str | None = None,
    school: str | None = None,
    condition: str | None = None,
    active_only: bool = False,
) -> Sequence[Any]:
    """Permits from the records store, by id."""
    if district is not None:
        known = list_districts(context.settings().districts_dir)
        if district not in known:
            raise Refused(f"--district: unknown district {district!r} (known: "
                          f"{', '.join(sorted(known)) or 'none'})")
    return permit_store.list_permits(
        context.engine(), district=district, school_year=school_year, school=school,
        condition=condition, active_only=active_only,
    )


def _config(state: PermitState) -> DistrictBase:
    """The district file of the permit's district, read as its process needs."""
    if state.process is PermitProcess.within_district:
        return context.within_district(state.district)
    return context.district(state.district)


def timezone_of(state: PermitState) -> str:
    """The time zone of the permit's district, in which its dates are shown."""
    return _config(state).timezone


async def _active(permit_id: str) -> PermitState:
    state, _ = await get(permit_id)
    if not state.is_active:
        raise Refused(f"permit {state.id} has ended ({state.stage.value})")
    return state


async def _act(state: PermitState, update_: Any, action: Any) -> PermitState:
    from app.temporal import update

    result: PermitState = await update(state.id, update_, action, result_type=PermitState)
    return result


async def revoke(
    permit_id: str, principal: Principal, reasons: list[RevocationReason], note: str = ""
) -> PermitState:
    """Rescind or revoke, citing the seed's reasons (not appealable; EC 46600's grade limit
    is the workflow's to check)."""
    from workflows.permit import PermitWorkflow

    state = await _active(permit_id)
    staff = context.staff(_config(state), principal)
    return await _act(state, PermitWorkflow.revoke, Revoke(actor=staff, reasons=reasons,
                                                           note=note))


async def renew(permit_id: str, principal: Principal, school_year: str) -> PermitState:
    from workflows.permit import PermitWorkflow

    state = await _active(permit_id)
    staff = context.staff(_config(state), principal)
    return await _act(state, PermitWorkflow.renew, Renew(actor=staff, school_year=school_year))


async def endorse(permit_id: str, principal: Principal, on: date | None = None,
                  note: str = "") -> PermitState:
    """EC 46600(a)(3): the district of enrollment endorsed a permit out of the district."""
    from workflows.permit import PermitWorkflow

    state = await _active(permit_id)
    staff = context.staff(_config(state), principal)
    return await _act(state, PermitWorkflow.endorse, Endorse(actor=staff, on=on, note=note))


async def moved(permit_id: str, principal: Principal, new_district: str | None) -> PermitState:
    from workflows.permit import PermitWorkflow

    state = await _active(permit_id)
    staff = context.staff(_config(state), principal)
    return await _act(state, PermitWorkflow.moved, Moved(actor=staff, new_district=new_district))


async def transfer(permit_id: str, principal: Principal, school: str) -> PermitState:
    from workflows.permit import PermitWorkflow

    state = await _active(permit_id)
    if school in {state.school, state.school_name}:
        raise Refused(f"the student already attends {school} under permit {state.id}")
    staff = context.staff(_config(state), principal)
    return await _act(state, PermitWorkflow.transfer,
                      TransferElsewhere(actor=staff, school=school))


async def leave_program(permit_id: str, principal: Principal) -> PermitState:
    """IV.A: the student left the special program the transfer was for."""
    from workflows.permit import PermitWorkflow

    state = await _active(permit_id)
    check_may_leave_program(
        state.id, state.process is PermitProcess.within_district, state.program
    )
    staff = context.staff(_config(state), principal)
    return await _act(state, PermitWorkflow.leave_program, Revoke(actor=staff))


async def appeal(permit_id: str, principal: Principal) -> None:
    """An appeal of a rescinded or revoked permit: always refused (seed 000), by the
    permit's workflow while it runs, and here once the permit has ended."""
    from app.temporal import update
    from workflows.permit import PermitWorkflow

    state, _ = await get(permit_id)
    staff = context.staff(_config(state), principal)
    if state.stage is PermitStage.revoked:
        raise Refused(f"{NOT_APPEALABLE}: permit {state.id} was revoked"
                      + (f" on {state.ended_on.isoformat()}" if state.ended_on else ""))
    if not state.is_active:
        raise Refused(f"{NOT_APPEALABLE}; permit {state.id} has ended ({state.stage.value})")
    await update(state.id, PermitWorkflow.appeal_revocation, AppealRevocation(actor=staff),
                 result_type=type(None))
    raise Refused(NOT_APPEALABLE)  # the workflow always refuses; never reached
