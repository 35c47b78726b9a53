"""What the interdistrict workflow's tests (tests/test_interdistrict_*.py) share: the actions
they send, a server of each test's own and the requests started on it, the steps to each stage,
waiting for something that must happen (`eventually`), and proving on the time-skipping server
that something did not (`quiet_until`).

A test module takes the fixtures by importing ``own_server`` and ``launcher``: they override
the session's ``env`` and provide ``launch`` for that module's tests."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from models.actions import (
    AddDocuments,
    Decide,
    DocumentFile,
    ExtendAppeal,
    FileAppeal,
    RecordRelease,
    Withdraw,
)
from models.decisions import DenialReason, ExtensionCircumstance, Outcome
from models.documents import DocumentKind
from models.people import Actor
from models.requests import InterdistrictRequest
from models.stages import Stage
from models.state import HistoryEntry, RequestState
from store import notices as notice_store
from tests.support.factories import CLERK, COUNTY, DIRECTOR, document, make_request
from tests.support.waiting import eventually
from tests.support.workflows import (
    end_of,
    skip_to,
    status,
    supply_documents,
    wait_stage,
)
from workflows.interdistrict_permit import InterdistrictPermitWorkflow as W

SECOND = timedelta(seconds=1)
CEILING = 30.0  # seconds of wall-clock time: generous, only a failing test waits this long


async def timers_fired(handle: WorkflowHandle) -> int:
    """How many of the run's timers have fired: the server's history, not the worker's."""
    history = await handle.fetch_history()
    return sum(1 for e in history.events if e.event_type == EventType.EVENT_TYPE_TIMER_FIRED)


async def quiet_until(
    env: WorkflowEnvironment,
    handle: WorkflowHandle,
    instant: datetime,
    since: RequestState | None = None,
) -> RequestState:
    """Move the server's clock to ``instant`` (the last second before a deadline, say) and
    prove the run did nothing on the way: its state, stage and history included, is still
    ``since`` (by default, the state now).

    A check that can fail, not a wait: the time-skipping server fires every timer due before
    ``instant`` on the way and does not move its clock on while the workflow task that timer
    scheduled is outstanding, so ``env.sleep`` returns only after a run that acted early has
    acted, and the query that follows sees it."""
    before = since if since is not None else await status(handle)
    now = await env.get_current_time()
    assert now < instant, f"the clock is at {now}, not before {instant}: nothing would be shown"
    try:
        async with asyncio.timeout(CEILING):  # a workflow task failing over and over holds it
            await skip_to(env, instant)
    except TimeoutError:
        raise AssertionError(f"the server's clock did not reach {instant}") from None
    assert await env.get_current_time() >= instant
    after = await status(handle)
    assert after.stage is before.stage, f"{after.stage} before {instant}, expected {before.stage}"
    assert after.history == before.history, f"the run acted before {instant}"
    assert after == before
    return after


DENY = Decide(actor=DIRECTOR, outcome=Outcome.deny, reasons=[DenialReason.no_space])


APPROVE = Decide(actor=DIRECTOR, outcome=Outcome.approve)


GRANT_RELEASE = RecordRelease(actor=CLERK, granted=True)


REFUSE_RELEASE = RecordRelease(actor=CLERK, granted=False)


WITHDRAW = Withdraw(actor=CLERK, note="the family stays")


EXTEND = ExtendAppeal(actor=COUNTY, reason="the board meets next month",
                      circumstance=ExtensionCircumstance.hearing_availability)


MINUTE = timedelta(minutes=1)


PARENT_EMAIL = "maria@example.com"


STAFF_EMAIL = "pupil-services@paramount.example.org"


Launch = Callable[..., Awaitable[WorkflowHandle]]


def into_request(**overrides: object) -> InterdistrictRequest:
    return make_request(direction="into", **overrides)


def kinds(engine: Engine, request_id: str) -> list[str]:
    return [n.kind for n in notice_store.list_notices(engine, request_id)]


def notices_of(engine: Engine, request_id: str, kind: str) -> list[notice_store.NoticeRow]:
    return [n for n in notice_store.list_notices(engine, request_id) if n.kind == kind]


async def wait_notices(
    engine: Engine, request_id: str, kind: str, count: int = 1
) -> list[notice_store.NoticeRow]:
    """Notices go out after the stage changes: wait until ``count`` of ``kind`` are sent."""

    async def sent() -> list[notice_store.NoticeRow] | None:
        found = [n for n in notices_of(engine, request_id, kind) if n.status == "sent"]
        return found if len(found) >= count else None

    return await eventually(sent, what=f"{count} {kind} notices sent for {request_id}")


def events(state: RequestState) -> list[str]:
    return [entry.event for entry in state.history]


def entry(state: RequestState, event: str) -> HistoryEntry:
    return next(e for e in state.history if e.event == event)


async def to_under_review(handle: WorkflowHandle) -> RequestState:
    await supply_documents(handle)
    return await wait_stage(handle, Stage.under_review)


async def to_denied(handle: WorkflowHandle) -> RequestState:
    await to_under_review(handle)
    state = await handle.execute_update(W.decide, DENY)
    assert state.stage is Stage.denied
    return state


async def to_appeal_pending(handle: WorkflowHandle) -> RequestState:
    await to_denied(handle)
    state = await handle.execute_update(W.file_appeal, FileAppeal(actor=CLERK))
    assert state.stage is Stage.appeal_pending
    return state


async def to_deemed_denied(env: WorkflowEnvironment, handle: WorkflowHandle) -> RequestState:
    state = await status(handle)
    if state.stage is not Stage.under_review:
        state = await to_under_review(handle)
    assert state.statutory_due is not None
    await skip_to(env, end_of(state.statutory_due) + MINUTE)
    return await wait_stage(handle, Stage.deemed_denied)


async def finished(env: WorkflowEnvironment, handle: WorkflowHandle, stage: Stage) -> RequestState:
    """The run's result. Nothing here needs time to pass, so time skipping stays locked:
    unlocked, the test server jumps the shared clock years ahead while the run closes."""
    with env.auto_time_skipping_disabled():
        result = await handle.result()
    assert result.stage is stage
    return result


def packet(kinds: list[DocumentKind], actor: Actor = CLERK) -> AddDocuments:
    return AddDocuments(actor=actor, documents=[
        DocumentFile.model_validate(document(kind).model_dump(exclude={"actor", "note"}))
        for kind in kinds
    ])


async def refused_when_closed(handle: WorkflowHandle, update: object, action: object) -> None:
    """A closed request's run has ended: the server refuses the update (the run is gone),
    and the record the run left, its state and history, stays as it was."""
    before = await status(handle)
    with pytest.raises(RPCError) as failure:
        await handle.execute_update(update, action)  # type: ignore[arg-type]
    assert failure.value.status is RPCStatusCode.NOT_FOUND
    assert await status(handle) == before

