"""The within-district request's actions (seed 004, Rule 5110.1): recommendations (III), the
designee's current-year decision (IX.B), withdrawal, leaving a special program (IV.A), and a
waitlisted request's place in line now. The request's workflow checks each and has the last
word; a request that has closed is refused here from the records store."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from app import context, permits
from app.errors import Refused
from app.principal import Principal
from app.requests import get_of
from models.permits import PermitState
from models.within_request import (
    CurrentYearFactors,
    DecideWithin,
    Recommend,
    RecommendationKind,
    WithdrawWithin,
    WithinKind,
    WithinRequestState,
    WithinStage,
)

# Temporal's SDK and the workflows are imported in the functions that send or ask: `show` and
# `list` start without them (docs/cross-cutting.md "Settings").

POSITION_TIMEOUT = 5.0  # seconds to ask the lottery for a live waitlist position


def within(request_id: str) -> WithinRequestState:
    return get_of(request_id, WithinRequestState,
                  "an interdistrict permit, not a within-district request")


async def _act(state: WithinRequestState, update_: Any, action: Any) -> WithinRequestState:
    from app.temporal import update

    result: WithinRequestState = await update(
        state.id, update_, action, result_type=WithinRequestState
    )
    return result


def _open(state: WithinRequestState) -> None:
    if not state.is_open:
        raise Refused(f"request {state.id} is closed ({state.stage.value})")


def check_decidable(state: WithinRequestState) -> None:
    """Only an open current-year request is decided by hand (IX.B); the lottery decides the
    others (VIII.B)."""
    _open(state)
    if state.kind is not WithinKind.current_year:
        raise Refused(
            f"request {state.id} is a {state.kind.value} request: the lottery decides it "
            "(VIII.B), not a staff member"
        )


async def decide(
    request_id: str, principal: Principal, approve: bool, factors: CurrentYearFactors
) -> WithinRequestState:
    """IX.B: the designee decides a current-year request, writing down the four factors."""
    from workflows.within_request import WithinRequestWorkflow

    state = within(request_id)
    check_decidable(state)
    staff = context.staff(context.within_district(state.request.district), principal)
    return await _act(state, WithinRequestWorkflow.decide,
                      DecideWithin(actor=staff, approve=approve, factors=factors))


async def withdraw(request_id: str, principal: Principal, note: str = "") -> WithinRequestState:
    """Withdraw an open request (a placement is its permit's now: `app.permits`)."""
    from workflows.within_request import WithinRequestWorkflow

    state = within(request_id)
    if state.stage is WithinStage.placed:
        raise Refused(f"request {state.id} is placed: its permit {state.permit_id} holds the "
                      "transfer now (`transfers permit leave-program|transfer|moved`)")
    if not state.is_open:
        raise Refused(f"request {state.id} is {state.stage.value}: nothing to withdraw")
    staff = context.staff(context.within_district(state.request.district), principal)
    return await _act(state, WithinRequestWorkflow.withdraw,
                      WithdrawWithin(actor=staff, reason=note))


async def recommend(
    request_id: str,
    principal: Principal,
    kind: RecommendationKind,
    recommended: bool,
    reasoning: str,
) -> WithinRequestState:
    """A recommendation the request waits for (III); against denies it."""
    from workflows.within_request import WithinRequestWorkflow

    state = within(request_id)
    _open(state)
    if not reasoning.strip():
        raise Refused("--reasoning: write down why")
    staff = context.staff(context.within_district(state.request.district), principal)
    action = Recommend(actor=staff, kind=kind, recommended=recommended, reasoning=reasoning)
    return await _act(state, WithinRequestWorkflow.recommend, action)


async def leave_program(request_id: str, principal: Principal) -> PermitState:
    """The placed student left the special program (IV.A): its permit is revoked, the
    student reassigned to the home school, and the seat goes to the next in line."""
    state = within(request_id)
    if state.stage is not WithinStage.placed or state.permit_id is None:
        raise Refused(f"request {request_id} is {state.stage.value}, not a placement")
    return await permits.leave_program(state.permit_id, principal)


@dataclass
class Position:
    """A waitlisted request's place in line, and whether the lottery said so just now."""

    position: int | None
    live: bool


async def waitlist_position(state: WithinRequestState) -> Position:
    """Asked of the lottery when waitlisted; the stored one when it cannot be reached."""
    if state.stage is not WithinStage.waitlisted or state.lottery_id is None:
        return Position(state.waitlist_position, False)
    from temporalio.client import WorkflowQueryFailedError  # only to ask the lottery
    from temporalio.service import RPCError

    from workflows.lottery import LotteryWorkflow

    async def ask(lottery_id: str) -> int | None:
        client = await context.client()
        handle = client.get_workflow_handle(lottery_id)
        return await handle.query(
            LotteryWorkflow.waitlist_position, state.id,
            result_type=int | None,  # type: ignore[arg-type]
        )

    try:
        position = await asyncio.wait_for(ask(state.lottery_id), POSITION_TIMEOUT)
    except (Refused, RPCError, WorkflowQueryFailedError, TimeoutError, RuntimeError):
        return Position(state.waitlist_position, False)
    return Position(position, True)
