"""Replay: histories recorded from real runs of every workflow type (``tests/histories/``)
replay with the current code, so a change that would break a running workflow fails here.

To record them again (after a deliberate, versioned change), run the recording scenarios:

    RECORD_HISTORIES=1 .venv/bin/python -m pytest -q tests/workflows/test_replay.py -k record

(After the other scenarios, the permit's times out skipping time: their permits' timers wait
for workers that have stopped. Record the permit's on their own: ``-k record_permit``, ``-k
record_endorsement``.)

Keep the old files next to the new ones (a new name): a running workflow may have any of them.
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from joserfc import jws
from temporalio.client import WorkflowHandle, WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker
from temporalio.workflow import NondeterminismError

from app import submissions
from districts import load_district
from infra.codec import DATA_CONVERTER, data_converter
from infra.proofs import Keyring, ProofClaims, header_token
from infra.sealing import RefusingRunner
from infra.settings import Settings
from intake.interdistrict import prepare
from models.actions import Decide, FileAppeal, RecordAppealOutcome
from models.decisions import AppealOutcome, DenialReason, Outcome
from models.district import Agreement, DistrictSnapshot, SchoolYear
from models.lottery_record import OfferAnswer
from models.people import Actor
from models.permits import Endorse, PermitCondition, PermitStage, Renew, Revoke
from models.stages import Stage
from models.within_request import CurrentYearFactors, DecideWithin, WithinStage
from rules import calendar
from rules import permits as permit_rules
from rules.revocation import RevocationReason
from tests.support import within as w
from tests.support import workflows as helpers
from tests.support.factories import CLERK, COUNTY, DIRECTOR, make_input, make_request
from tests.support.paths import HISTORIES
from tests.support.permits import TZ, permit_input, reached, school_year_now
from tests.support.waiting import eventually
from tests.support.within import District, permit_of, stage_is
from worker import WORKFLOWS, workflow_runner
from workflows.agreement import AgreementWatchInput, AgreementWatchWorkflow, agreement_watch_id
from workflows.common.proofs import ProofChecker
from workflows.interdistrict_permit import InterdistrictPermitWorkflow as P
from workflows.lottery import LotteryWorkflow as L
from workflows.permit import PermitWorkflow
from workflows.within_request import WithinRequestWorkflow as R

RECORDING = os.environ.get("RECORD_HISTORIES") == "1"
recording = pytest.mark.skipif(not RECORDING, reason="set RECORD_HISTORIES=1 to record")


@pytest.mark.parametrize("path", sorted(HISTORIES.glob("*.json")), ids=lambda p: p.stem)
async def test_recorded_history_replays_with_the_current_code(path: Path) -> None:
    # With the workers' proof checks: a replay checks a proof's claims, not its key, so no
    # key is needed (docs/cross-cutting.md "Proofs").
    replayer = Replayer(
        workflows=WORKFLOWS, workflow_runner=workflow_runner(), data_converter=DATA_CONVERTER,
        interceptors=[ProofChecker(Keyring())],
    )
    await replayer.replay_workflow(WorkflowHistory.from_json(_workflow_id(path), path.read_text()))


def _workflow_id(path: Path) -> str:
    """The id the history's workflow ran under, which its proofs name: the start's proof, or
    its first Update's (histories recorded before proofs carry none, and any id will do)."""
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    for event in history.events:
        for headers in (event.workflow_execution_started_event_attributes.header,
                        event.workflow_execution_update_accepted_event_attributes
                        .accepted_request.input.header):
            token = header_token(headers.fields)
            if token is not None:
                return ProofClaims.model_validate_json(jws.extract_compact(token.encode())
                                                       .payload).wf
    return path.stem


def test_every_workflow_type_has_a_recorded_history() -> None:
    recorded = {p.stem.split("--")[0] for p in HISTORIES.glob("*.json")}
    assert {wf.__temporal_workflow_definition.name for wf in WORKFLOWS} <= recorded


# ---- recording scenarios (RECORD_HISTORIES=1) ----------------------------------------------


async def save(handle: WorkflowHandle, name: str) -> None:
    history = await handle.fetch_history()
    started = history.events[0].workflow_execution_started_event_attributes
    kind = started.workflow_type.name
    (HISTORIES / f"{kind}--{name}.json").write_text(history.to_json())


@recording
async def test_record_interdistrict(env: WorkflowEnvironment, worker: Worker) -> None:
    # Under Paramount's agreement with Downey (EC 46600(a)): the permit takes its terms, and
    # the agreement's end is watched by its own workflow.
    inp = make_input(f"req-{uuid.uuid4().hex[:10]}",
                     await helpers.today(env) + timedelta(days=120))
    inp.policy.agreement = next(a for a in load_district("paramount").agreements
                                if a.partner_id == "downey")
    approved = await helpers.start(env, worker.task_queue, inp=inp)
    await helpers.supply_documents(approved)
    await approved.execute_update(P.decide, Decide(actor=DIRECTOR, outcome=Outcome.approve))
    await helpers.wait_stage(approved, Stage.approved)
    await save(approved, "approved")

    appealed = await helpers.start(env, worker.task_queue)
    await helpers.supply_documents(appealed)
    await appealed.execute_update(P.decide, Decide(
        actor=DIRECTOR, outcome=Outcome.deny, reasons=[DenialReason.no_space]))
    await appealed.execute_update(P.file_appeal, FileAppeal(actor=CLERK))
    await appealed.execute_update(
        P.record_appeal_outcome, RecordAppealOutcome(actor=COUNTY, outcome=AppealOutcome.granted)
    )
    await helpers.wait_stage(appealed, Stage.approved)
    await save(appealed, "appeal-granted")


@recording
async def test_record_paper_form(
    env: WorkflowEnvironment, worker: Worker, engine: object
) -> None:
    """An interdistrict paper form, judged at its start on the workflow's clock (the path of
    `intake-clock`), approved."""
    now = await env.get_current_time()
    today = calendar.local_date(now, "America/Los_Angeles")
    year = f"{today.year}-{today.year + 1}"
    paramount = load_district("paramount")
    config = paramount.model_copy(update={"calendar": {year: SchoolYear(
        first_day=today + timedelta(days=40), last_day=today + timedelta(days=300))}})
    received = now - timedelta(days=1)
    inp = prepare(make_request(school_year=year), config, today, engine,  # type: ignore[arg-type]
                  "avalos", received_at=received, received_by="avalos", now=now)
    handle = await submissions.start(env.client, inp, worker.task_queue)
    await helpers.supply_documents(handle)
    await handle.execute_update(P.decide, Decide(actor=DIRECTOR, outcome=Outcome.approve))
    await helpers.wait_stage(handle, Stage.approved)
    await save(handle, "paper-form-approved")


@recording
async def test_record_notices_failed_for_good(env: WorkflowEnvironment, settings: Settings) -> None:
    """Every notice to the parent refused for good (550): the receipt (a local activity), the
    missing-documents notice (awaited) and the approval (a staff action's, not awaited), each
    escalated once; the path of `failed-notices-escalated`, replayed from then on."""
    async with helpers.mailing_worker(env, settings) as (worker, inbox):
        inbox.refused = {"maria@example.com"}
        handle = await helpers.start(env, worker.task_queue)
        await helpers.supply_documents(handle)
        await helpers.wait_stage(handle, Stage.under_review)
        await handle.execute_update(P.decide, Decide(actor=DIRECTOR, outcome=Outcome.approve))
        with env.auto_time_skipping_disabled():
            await handle.result()
        await save(handle, "notices-failed-for-good")


@recording
async def test_record_lottery_and_within_requests(
    env: WorkflowEnvironment, worker: Worker, engine: object
) -> None:
    d = District(env, worker, engine, w.test_district(await env.get_current_time()))  # type: ignore[arg-type]
    handles = [await d.submit(n, w.MONTESSORI_1, grade=1) for n in range(1, 4)]
    # A paper form received at 4:59 p.m., typed in after the draw: the preview is drawn again.
    await helpers.skip_to(env, d.draws + timedelta(minutes=30))
    await eventually(d.record, lambda r: r.stage.value == "preview", what="the draw")
    handles.append(await d.submit(4, w.MONTESSORI_1, grade=1,
                                  received_at=d.closes - timedelta(minutes=1),
                                  received_by="olsen"))
    done = await d.certified()
    assert done.result is not None
    placed = done.result.placed(w.MONTESSORI_1)[0].application_id
    first = done.result.waitlist(w.MONTESSORI_1)[0].application_id
    by_id = {h.id: h for h in handles}
    holder = await permit_of(d, placed)
    await holder.execute_update(PermitWorkflow.leave_program, Revoke(actor=w.SETTER))
    await stage_is(by_id[first], WithinStage.offered)
    await d.lottery.execute_update(
        L.accept_offer, OfferAnswer(application_id=first, actor=w.CERTIFIER)
    )
    await stage_is(by_id[first], WithinStage.placed)
    await helpers.skip_to(env, d.closes + timedelta(days=61))  # past the first day of school
    await eventually(d.record, lambda r: r.stage.value == "closed", what="the ledger closed")
    await save(d.lottery, "released-offered-closed")
    await save(by_id[first], "offered-accepted")
    await save(by_id[placed], "placed-permit-issued")
    await save(holder, "within-left-program")

    decided = await d.submit(5, w.MONTESSORI_1, grade=1)  # the current year (IX) by now
    await stage_is(decided, WithinStage.under_review)
    await decided.execute_update(R.decide, DecideWithin(
        actor=w.DESIGNEE, approve=True, factors=CurrentYearFactors(
            reasons="r", time_of_year="t", capacity_and_staffing="c", educational_program="p")))
    await stage_is(decided, WithinStage.placed)
    await save(decided, "current-year-approved")


@recording
async def test_record_permit(env: WorkflowEnvironment, worker: Worker) -> None:
    today = calendar.local_date(await env.get_current_time(), TZ)
    inp = permit_input(school_year_now(today), condition=PermitCondition.reapply_annually)
    handle = await env.client.start_workflow(
        PermitWorkflow.run, inp, id=inp.state.id, task_queue=worker.task_queue
    )
    year = inp.state.school_year
    first, _ = permit_rules.renewal_window(year, (1, 15), (3, 31))
    await helpers.skip_to(env, calendar.at_local(first, time(9, 0), TZ))
    await reached(handle, lambda s: s.stage is PermitStage.renewal_due, "renewal due")
    await handle.execute_update(PermitWorkflow.renew, Renew(
        actor=Actor(name="avalos", roles=["pupil_services"]),
        school_year=permit_rules.next_school_year(year)))
    await helpers.skip_to(env, calendar.end_of_day(permit_rules.school_year_end(year), TZ))
    await reached(handle, lambda s: s.years == 2, "the next school year")
    await handle.execute_update(PermitWorkflow.revoke, Revoke(
        actor=Actor(name="nguyen", roles=["director"]), reasons=[RevocationReason.behavior]))
    await save(handle, "renewed-next-year-revoked")


@recording
async def test_record_endorsement(env: WorkflowEnvironment, worker: Worker) -> None:
    """A permit out of the district awaiting the district of enrollment's endorsement (EC
    46600(a)(3)): staff reminded on its day, then the endorsement recorded."""
    today = calendar.local_date(await env.get_current_time(), TZ)
    inp = permit_input(school_year_now(today))
    inp.state = inp.state.model_copy(update={
        "school": "", "school_name": "Downey Unified School District", "issued_on": today,
        "endorsement_due": today + timedelta(days=30),
        "stage": PermitStage.awaiting_endorsement})
    handle = await env.client.start_workflow(
        PermitWorkflow.run, inp, id=inp.state.id, task_queue=worker.task_queue
    )
    await helpers.skip_to(env, calendar.at_local(today + timedelta(days=23), time(9, 0), TZ))
    await reached(handle, lambda s: s.events[-1].event == "endorsement_reminder", "reminded")
    await handle.execute_update(PermitWorkflow.endorse, Endorse(
        actor=Actor(name="avalos", roles=["pupil_services"])))
    await save(handle, "awaiting-endorsement-endorsed")


@recording
async def test_record_agreement_ending(env: WorkflowEnvironment, worker: Worker) -> None:
    """An agreement's end told to staff on its notice day (EC 46600(a)(1))."""
    today = calendar.local_date(await env.get_current_time(), TZ)
    start = int(school_year_now(today)[:4])
    inp = AgreementWatchInput(
        district=DistrictSnapshot(
            district_id="paramount", district_name="Paramount Unified School District",
            timezone=TZ, contact="Pupil Services", notices_from="ps@paramount.example.org",
            staff_notices_to=["ps@paramount.example.org"]),
        agreement=Agreement(partner="Downey Unified School District", partner_id="downey",
                            first_school_year=f"{start - 3}-{start - 2}",
                            last_school_year=f"{start + 1}-{start + 2}"),
        notice_days_before=180,
    )
    handle = await env.client.start_workflow(
        AgreementWatchWorkflow.run, inp, id=agreement_watch_id("paramount", inp.agreement),
        task_queue=worker.task_queue)
    await handle.result()
    await save(handle, "told-ahead")


# Where encryption is required from a cut-over on (infra/sealing.py), the plaintext histories
# of before it replay as they ran: the decision is the workflow task's time against the
# cut-over, never the clock's. One history of Updates, and the lottery's, of signals.
PLAINTEXT = [
    "InterdistrictPermitRequest--approved", "WithinDistrictLottery--released-offered-closed",
]
KEYS = {"TRANSFERS_ENCRYPTION_KEYS": "district-2026:" + "A" * 43 + "="}


@pytest.mark.parametrize("name", PLAINTEXT)
async def test_a_plaintext_history_replays_where_encryption_is_required_after_it(
    name: str
) -> None:
    path = HISTORIES / f"{name}.json"
    history = WorkflowHistory.from_json(_workflow_id(path), path.read_text())

    async def replay(since: datetime) -> None:
        replayer = Replayer(
            workflows=WORKFLOWS, data_converter=data_converter(KEYS),
            workflow_runner=RefusingRunner(workflow_runner(), since),
            interceptors=[ProofChecker(Keyring())],
        )
        await replayer.replay_workflow(history)

    # The cut-over just after the history's last task (its times are the recording server's,
    # which skips time): it replays, whatever today's date.
    last = max(event.event_time.ToDatetime(tzinfo=UTC) for event in history.events)
    await replay(last + timedelta(seconds=1))
    # Not vacuous: a cut-over before it refuses its plaintext start, and the replay fails.
    with pytest.raises(NondeterminismError):
        await replay(datetime(2000, 1, 1, tzinfo=UTC))
