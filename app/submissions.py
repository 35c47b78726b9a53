"""Submitting requests on behalf of parents: one form, or a batch of files in order (how a
district loads a pile of paper forms). Every intake check of a form (`intake/`) runs before
its workflow starts, so a refused form starts nothing; within-district applications enter
their lottery first (its clock decides 5:00 p.m.), then the request starts."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy import Engine

import rules.calendar as calendar
from app import context
from app.errors import Refused
from app.principal import Principal
from intake.forms import read_form, validate_form
from models.district import DistrictBase
from models.people import Actor
from models.requests import InterdistrictRequest
from models.roles import PARENT
from models.stages import Stage
from models.within_district_config import WithinDistrictConfig
from models.within_request import WithinRequest, WithinRequestInput, WithinStage
from rules import receipts
from rules.errors import PolicyError
from rules.roles import check_role
from store import claims

# Temporal's SDK and the workflows are imported in the functions that send or ask: `show` and
# `list` start without them (docs/cross-cutting.md "Settings").
if TYPE_CHECKING:
    from temporalio.client import Client, WorkflowHandle
    from temporalio.common import (
        TypedSearchAttributes,
        WorkflowIDReusePolicy,
    )

    from workflows.interdistrict_permit import PermitRequestInput


# Who submits, when not a staff member of the roster: a function giving the actor for the
# district and setting the proof's person (`app.applications`: a parent in the portal).
Acting = Callable[[DistrictBase], Actor]


def _actor(config: DistrictBase, principal: Principal | Acting) -> Actor:
    return context.staff(config, principal) if isinstance(principal, Principal) \
        else principal(config)


@dataclass
class Prepared:
    """A request form that passed every intake check, ready to start: ``start`` starts its
    workflow(s) with a connected client; ``data`` is what a front reports of it."""

    id: str
    data: dict[str, Any]
    start: Callable[[Client], Awaitable[object]]
    student: tuple[str, str, str] = field(default=("", "", ""))  # district, student, year


@dataclass(frozen=True)
class PaperReceipt:
    """A paper form's receipt as staff give it (the CLI's ``--received-at`` and
    ``--received-by``, a console's fields): when, as ``2027-02-15 16:50`` in the district's
    zone or an ISO instant with its offset, and who received it (a roster name)."""

    received_at: str
    received_by: str

    def resolve(self, tz: str) -> tuple[datetime, str]:
        return receipts.parse_received_at(self.received_at, tz), self.received_by


def paper_receipt(received_at: str | None, received_by: str | None) -> PaperReceipt | None:
    """A paper form's receipt from a front's two fields: both or neither."""
    if received_at is None and received_by is None:
        return None
    if not received_at or not received_by:
        raise PolicyError("a paper form gives both when it was received (--received-at) and "
                          "who received it (--received-by)")
    return PaperReceipt(received_at, received_by)


@dataclass
class Submitted:
    """A form of a batch that started: ``data`` as `Prepared.data`, with its file."""

    file: Path
    data: dict[str, Any]


@dataclass
class Rejected:
    """A form of a batch that was refused, and why; the others go on."""

    file: Path
    error: Exception


# ---- one form ---------------------------------------------------------------------------

# How far this machine's clock may be from the Temporal server's before intake's early check
# refuses what the workflows' clock would take (docs/cross-cutting.md "One clock for intake").
CLOCK_SLACK = timedelta(minutes=10)
T = TypeVar("T")


def early(prepare: Callable[[datetime], T], now: datetime) -> T:
    """Intake's checks at ``now`` (this machine's clock), for early feedback only. A refusal
    that a clock up to ``CLOCK_SLACK`` off would not give (a window that closed or opened a
    few minutes ago here) is not this machine's to make: intake runs again at the nearest
    clock that passes, and the workflows judge on the server's, refusing with their reason
    if they disagree. A refusal at every such clock is intake's, as worded at ``now``."""
    try:
        return prepare(now)
    except PolicyError:
        for moved in (now - CLOCK_SLACK, now + CLOCK_SLACK):
            with contextlib.suppress(PolicyError):
                return prepare(moved)
        raise


def prepare_interdistrict(
    request: InterdistrictRequest, principal: Principal | Acting,
    paper: PaperReceipt | None = None,
) -> Prepared:
    """Every intake check (``now`` this machine's clock, for early feedback: the workflow
    judges again on its own); ``paper``: a paper form's receipt."""
    from intake.interdistrict import prepare

    config = context.district(request.district)
    staff = _actor(config, principal)
    check_role("submit", staff.name, staff.roles)
    task_queue = context.settings().task_queue
    engine = context.engine()
    from intake.roster_facts import interdistrict_with_roster  # the roster's facts (issue 18)

    request = interdistrict_with_roster(engine, request)
    received_at, received_by = paper.resolve(config.timezone) if paper else (None, None)
    inp = early(lambda now: prepare(
        request, config, calendar.local_date(now, config.timezone), engine, staff.name,
        received_at=received_at, received_by=received_by, now=now), datetime.now(UTC))

    async def go(client: Client) -> object:
        async with _claimed(engine, request.district, request.school_year, request.student.id,
                            inp.id, f"for {request.school_year}"):
            return await start(client, inp, task_queue)

    data = {"id": inp.id, "stage": "submitted", "first_day": inp.policy.first_day.isoformat(),
            "roster": request.roster.model_dump(mode="json") if request.roster else None}
    student = (request.district, request.student.id, request.school_year)
    return Prepared(id=inp.id, data=data, start=go, student=student)


def prepare_within_form(
    form: dict[str, Any], source: str, config: WithinDistrictConfig,
    principal: Principal | Acting, paper: PaperReceipt | None = None,
) -> Prepared:
    """Every intake check of a within-district form (`intake.within.prepare_within`, with
    ``now`` this machine's clock, for early feedback: the workflows judge again on theirs);
    nothing starts until ``start``. ``paper``: a paper form's receipt."""
    from intake.within import prepare_within

    request = validate_form(WithinRequest, form, source)
    staff = _actor(config, principal)
    check_role("within.submit", staff.name, staff.roles)
    student = (config.id, request.student.id, request.school_year)
    engine = context.engine()
    from intake.roster_facts import within_with_roster  # the roster's facts (issue 18)

    request = within_with_roster(engine, request)
    received_at, received_by = paper.resolve(config.timezone) if paper else (None, None)
    inp = early(lambda now: prepare_within(
        request, config, now, engine, staff.name, received_at=received_at,
        received_by=received_by, online=PARENT in staff.roles), datetime.now(UTC))
    task_queue = context.settings().task_queue

    async def go(client: Client) -> object:
        # VI.C: one within-district request at a time, whatever its school year.
        async with _claimed(engine, config.id, "within", request.student.id, inp.id,
                            "(VI.C: one at a time)"):
            return await start_within(client, inp, config, task_queue)

    data = {"id": inp.id, "stage": WithinStage.submitted.value, "kind": inp.kind.value,
            "lottery_id": inp.lottery_id,
            "roster": request.roster.model_dump(mode="json") if request.roster else None}
    return Prepared(id=inp.id, data=data, start=go, student=student)


@contextlib.asynccontextmanager
async def _claimed(
    engine: Engine, district: str, scope: str, student_id: str, request_id: str, which: str
) -> AsyncIterator[None]:
    """The student claimed for the request while its workflow starts, atomically (two
    submissions at once cannot both start); given up if the start fails."""
    holder = claims.claim(engine, district, scope, student_id, request_id, datetime.now(UTC))
    if holder is not None:
        raise Refused(f"student {student_id} already has an open request {which}: {holder}")
    try:
        yield
    except BaseException:
        claims.release(engine, request_id)
        raise


async def submit_form(
    form: object, principal: Principal, source: str = "the flags",
    paper: PaperReceipt | None = None,
) -> Prepared:
    """An interdistrict request from its fields (the CLI's flags), started."""
    from intake.interdistrict import parse_request

    prepared = prepare_interdistrict(parse_request(form, source), principal, paper)
    await prepared.start(await context.client())
    return prepared


# ---- a batch of files -------------------------------------------------------------------


def _prepare_file(
    path: Path, principal: Principal, within: dict[str, WithinDistrictConfig | None],
    paper: PaperReceipt | None = None,
) -> Prepared:
    from intake.interdistrict import parse_request
    from intake.within import within_district_of

    form = read_form(path)
    config = within_district_of(form, context.settings().districts_dir, within)
    if config is not None:
        assert isinstance(form, dict)
        return prepare_within_form(form, path.name, config, principal, paper)
    return prepare_interdistrict(parse_request(form, path.name), principal, paper)


async def submit_files(
    files: list[Path], principal: Principal, paper: PaperReceipt | None = None
) -> AsyncIterator[Submitted | Rejected]:
    """Each file in order, as it is done. A refused form is `Rejected` and the others go on;
    one file alone is refused by raising. Temporal unreachable stops the whole batch.
    ``paper``: the forms are paper forms received then, by that person (a pile handed in
    together)."""
    from temporalio.service import RPCError

    batch = len(files) > 1
    within: dict[str, WithinDistrictConfig | None] = {}
    taken: dict[tuple[str, str, str], str] = {}  # the students submitted in this batch
    client: Client | None = None
    done = 0
    for path in files:
        try:
            prepared = _prepare_file(path, principal, within, paper)
            if prepared.student in taken:
                district, student, year = prepared.student
                raise Refused(
                    f"student {student} already has an open request for {year} in "
                    f"{district} ({taken[prepared.student]}, earlier in this batch); "
                    "only one may be open at a time"
                )
        except (Refused, PolicyError, ValidationError) as error:
            if not batch:
                raise
            yield Rejected(path, error)
            continue
        if client is None:
            client = await context.client()
        try:
            await prepared.start(client)
        except (Refused, PolicyError) as error:
            if not batch:
                raise
            yield Rejected(path, error)
            continue
        except RPCError as error:
            raise Refused(f"{path.name}: {error.message}; stopped after submitting "
                          f"{done} of {len(files)}") from None
        taken[prepared.student] = prepared.id
        done += 1
        yield Submitted(path, prepared.data)


# ---- starting the workflows -------------------------------------------------------------


async def start(client: Client, inp: PermitRequestInput, task_queue: str) -> WorkflowHandle:
    from workflows.common.attributes import at_start
    from workflows.interdistrict_permit import InterdistrictPermitWorkflow

    attributes = at_start(Stage.submitted, inp.request.district, inp.request.school_year)
    handle = await start_request(
        client, InterdistrictPermitWorkflow.run, inp, inp.id, task_queue, attributes
    )
    await admit(client, task_queue, handle, InterdistrictPermitWorkflow.admitted)
    return handle


def reuse_policy() -> WorkflowIDReusePolicy:
    """A run that failed may be started again: a start a workflow refused (a forged one,
    without its front's proof, docs/cross-cutting.md "Proofs") fails at once and must not
    hold the id."""
    from temporalio.common import WorkflowIDReusePolicy

    return WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY


async def start_request(
    client: Client,
    run: Any,
    inp: BaseModel,
    request_id: str,
    task_queue: str,
    attributes: TypedSearchAttributes,
) -> WorkflowHandle:
    """Start a request's workflow once: its id is derived, so a second start is refused."""
    from temporalio.common import WorkflowIDConflictPolicy
    from temporalio.exceptions import WorkflowAlreadyStartedError

    try:
        return await client.start_workflow(
            run,
            inp,
            id=request_id,
            task_queue=task_queue,
            search_attributes=attributes,
            id_reuse_policy=reuse_policy(),
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
        )
    except WorkflowAlreadyStartedError:
        raise PolicyError(f"request {request_id} already exists") from None

async def ensure_lottery(
    client: Client, config: WithinDistrictConfig, school_year: str, task_queue: str
) -> WorkflowHandle:
    """The district's lottery for the year, started by its first application."""
    from temporalio.common import WorkflowIDConflictPolicy

    from intake.lottery import lottery_input
    from intake.within import seat_setters
    from workflows.lottery import LotteryWorkflow

    inp = lottery_input(config, school_year, seats_set_by=seat_setters(config))
    return await client.start_workflow(
        LotteryWorkflow.run,
        inp,
        id=inp.id,
        task_queue=task_queue,
        id_reuse_policy=reuse_policy(),
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )


async def start_within(
    client: Client, inp: WithinRequestInput, config: WithinDistrictConfig, task_queue: str
) -> WorkflowHandle:
    """Enter the lottery (its clock decides 5:00 p.m., and a paper form's received time is
    what it judges; a refusal starts nothing), then start the request, which judges its
    receipt again on its own clock and may refuse to start (``admit``). An application the
    lottery took is received when the lottery's clock says, so the two agree. Re-running
    after a crash between the two finds the application entered and starts the request."""
    from temporalio.client import WorkflowUpdateFailedError

    from workflows.common.attributes import at_start
    from workflows.lottery import LotteryWorkflow
    from workflows.within_request import WithinRequestWorkflow

    if inp.lottery_id is not None:
        lottery = await ensure_lottery(client, config, inp.request.school_year, task_queue)
        applicant = inp.request.applicant(inp.id).model_copy(
            update={"received_at": inp.received_at, "received_by": inp.received_by}
        )
        try:
            entered = await lottery.execute_update(LotteryWorkflow.enter, applicant)
            entered_at: datetime | None = entered.entered_at
        except WorkflowUpdateFailedError as error:
            message = getattr(error.cause, "message", str(error))
            if "already entered" not in message:
                raise PolicyError(message) from None
            entered_at = await _entered_at(lottery, inp.id)
        if inp.received_at is None and entered_at is not None:
            inp = inp.model_copy(update={"received_at": entered_at})
    attributes = at_start(
        WithinStage.submitted, inp.request.district, inp.request.school_year
    )
    handle = await start_request(
        client, WithinRequestWorkflow.run, inp, inp.id, task_queue, attributes
    )
    await admit(client, task_queue, handle, WithinRequestWorkflow.admitted)
    return handle



async def _entered_at(lottery: WorkflowHandle, application_id: str) -> datetime | None:
    from workflows.lottery import LotteryWorkflow

    record = await lottery.query(LotteryWorkflow.result)
    return next((e.entered_at for e in [*record.applicants, *record.reopened]
                 if e.applicant.application_id == application_id), None)


ADMISSION_WAIT = 30.0  # seconds a polling worker has to answer before the front moves on


async def admit(client: Client, task_queue: str, handle: WorkflowHandle, admitted: Any) -> None:
    """The request's own verdict on its receipt, on the workflows' clock: it wins over the
    submitting machine's. A refused start fails its run before anything is recorded or sent
    (so its id may be used again) and is `PolicyError` here with the workflow's reason.
    With no worker polling (the first submission before the first worker) or none answering
    in time, the front does not wait: the run judges its receipt as of its start when a
    worker takes it, which is the verdict the front would have had."""
    from temporalio.client import (
        WorkflowFailureError,
        WorkflowUpdateFailedError,
        WorkflowUpdateRPCTimeoutOrCancelledError,
    )
    from temporalio.service import RPCError

    if not await _worker_polls(client, task_queue):
        return
    try:
        await handle.execute_update(admitted, rpc_timeout=timedelta(seconds=ADMISSION_WAIT))
        return
    except WorkflowUpdateRPCTimeoutOrCancelledError:
        return
    except WorkflowUpdateFailedError as error:
        reason = getattr(error.cause, "message", None) or str(error)
        if "expected but not found" in reason:  # a worker from before `admitted`: it runs
            return
    except RPCError as error:  # the run ended before the Update reached it: its failure says
        reason = error.message
        try:
            await handle.result()
        except WorkflowFailureError as failure:
            reason = getattr(failure.cause, "message", None) or reason
    raise PolicyError(reason) from None


async def _worker_polls(client: Client, task_queue: str) -> bool:
    """Whether a worker has polled the task queue for workflow tasks lately (the server keeps
    a poller for a few minutes after its last poll); a server that cannot say (the
    time-skipping test server) is taken to have one."""
    from temporalio.api.enums.v1 import TaskQueueType
    from temporalio.api.taskqueue.v1 import TaskQueue
    from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
    from temporalio.service import RPCError, RPCStatusCode

    try:
        described = await client.workflow_service.describe_task_queue(DescribeTaskQueueRequest(
            namespace=client.namespace, task_queue=TaskQueue(name=task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW))
    except RPCError as error:
        if error.status is RPCStatusCode.UNIMPLEMENTED:
            return True
        raise
    return bool(described.pollers)
