"""The within-district lottery workflow (seed 004, Rule 5110.1 VIII) on the time-skipping
server. The clock is shared and only moves forward, so each lottery closes a few days after
the server's "now", at 5:00 p.m. Central, and each test ends its lottery when it is done."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import Engine
from temporalio.client import WorkflowHandle
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

import rules.calendar as calendar
from districts import load_within_district
from intake.lottery import lottery_input
from models.lottery_record import (
    AddSeats,
    LotteryInput,
    LotteryRecord,
    LotteryStage,
    SeatCount,
    seed_commitment,
)
from models.people import Actor
from models.within_district import Applicant, Outcome, Program, Residency, SeatKey
from rules.lottery import draw, random_number
from rules.lottery_audit import verify
from store import notices as notice_store
from tests.support import workflows as helpers
from tests.support.waiting import eventually
from tests.support.workflows import skip_to
from workflows.lottery import LotteryWorkflow as L

TZ = "America/Chicago"
SETTER = Actor(name="olsen", roles=["student_services", "seat_setter", "lottery_certifier"])
CERTIFIER = Actor(name="tran", roles=["student_services", "lottery_certifier"])
CLERK = Actor(name="avalos", roles=["student_services"])
KEY = SeatKey(school="norris-elementary", program=Program.montessori, grade=1)
SECOND = timedelta(seconds=1)

Launch = Callable[..., Awaitable[tuple[WorkflowHandle, LotteryInput]]]


def applicant(n: int, key: SeatKey = KEY, **overrides: object) -> Applicant:
    data: dict[str, object] = {
        "application_id": f"A{n}",
        "student_id": f"S{n}",
        "school": key.school,
        "program": key.program,
        "grade": key.grade,
        "residency": Residency.other_resident,
        **overrides,
    }
    return Applicant.model_validate(data)


async def make_input(env: WorkflowEnvironment) -> LotteryInput:
    today = calendar.local_date(await env.get_current_time(), TZ)
    closes = calendar.at_local(today + timedelta(days=3), time(17, 0), TZ)
    return LotteryInput(
        id=f"lottery-test-{uuid.uuid4().hex[:8]}",
        district_id="millard",
        school_year="2027-2028",
        timezone=TZ,
        window_closes=closes,
        notify_by=closes.date() + timedelta(days=14),
        escalation_days_before=7,
        seats=[SeatCount(key=KEY, seats=2)],
        seats_set_by=SETTER.name,
        notices_from="student-services@millard.example.org",
        staff_notices_to=["student-services@millard.example.org"],
    )


@pytest.fixture
async def launch(env: WorkflowEnvironment, worker: Worker) -> AsyncIterator[Launch]:
    handles: list[WorkflowHandle] = []

    async def _launch(applicants: int = 0) -> tuple[WorkflowHandle, LotteryInput]:
        """A lottery, with applications A1, A2, ... entered in that order."""
        inp = await make_input(env)
        handle = await env.client.start_workflow(
            L.run, inp, id=inp.id, task_queue=worker.task_queue
        )
        handles.append(handle)
        for n in range(1, applicants + 1):
            await handle.execute_update(L.enter, applicant(n))
        return handle, inp

    yield _launch
    for handle in handles:
        with contextlib.suppress(RPCError):
            await handle.terminate("test over")


async def record(handle: WorkflowHandle) -> LotteryRecord:
    return await handle.query(L.result)


async def wait_stage(handle: WorkflowHandle, stage: LotteryStage) -> LotteryRecord:
    return await helpers.wait_stage(handle, stage, query=L.result)


async def refused(handle: WorkflowHandle, update: object, arg: object, *words: str) -> None:
    await helpers.refused(handle, update, arg, *words, query=L.result)


async def drawn(
    env: WorkflowEnvironment, handle: WorkflowHandle, closes: datetime
) -> LotteryRecord:
    await skip_to(env, closes)
    return await wait_stage(handle, LotteryStage.preview)


def escalations(engine: Engine, lottery: str) -> list[notice_store.NoticeRow]:
    return [
        n for n in notice_store.list_notices(engine, lottery)
        if n.kind == "staff_escalation" and n.status == "sent"
    ]


def test_input_from_the_district_file() -> None:
    inp = lottery_input(load_within_district("millard"), "2027-2028", seats_set_by="olsen")
    assert inp.id == "lottery-millard-2027-2028"
    assert inp.window_closes == datetime(2027, 2, 15, 23, 0, tzinfo=UTC)  # 5:00 p.m. CST
    assert calendar.local_date(inp.window_closes, TZ).isoformat() == "2027-02-15"
    assert inp.window_closes.utcoffset() == timedelta(hours=-6)  # 5:00 p.m. CST
    assert inp.notify_by.isoformat() == "2027-03-01"
    assert inp.escalation_days_before == 7
    assert SeatCount(key=KEY, seats=2) in inp.seats
    assert inp.overcrowded_schools == ["elk-ridge-elementary", "west-high"]


async def test_window_closes_at_five_and_the_draw_is_a_preview(
    env: WorkflowEnvironment, launch: Launch, engine: Engine
) -> None:
    handle, inp = await launch(applicants=2)
    await refused(handle, L.enter, applicant(1), "already entered")
    await refused(handle, L.enter, applicant(9, student_id="S1"), "S1 already applied")

    await skip_to(env, inp.window_closes - SECOND)  # 4:59:59 p.m. Central
    now = await env.get_current_time()
    assert calendar.local_date(now, TZ) == inp.window_closes.date()
    entered = await handle.execute_update(L.enter, applicant(3))
    assert entered.entered_at < inp.window_closes
    before = await record(handle)
    assert before.stage is LotteryStage.collecting and before.result is None

    preview = await drawn(env, handle, inp.window_closes)
    assert preview.drawn_at is not None and preview.drawn_at >= inp.window_closes
    assert preview.result is not None and not preview.certified
    assert len(preview.result.placed(KEY)) == 2
    assert len(preview.result.waitlist(KEY)) == 1
    assert [e.event for e in preview.history][-1] == "draw_previewed"
    await refused(handle, L.enter, applicant(4), "closed")
    await refused(handle, L.withdraw, "A1", "before the draw")
    assert notice_store.list_notices(engine, inp.id) == []  # no parent told from a preview


async def test_certification_needs_a_second_certifier(
    env: WorkflowEnvironment, launch: Launch
) -> None:
    handle, inp = await launch(applicants=1)
    await refused(handle, L.certify, CERTIFIER, "has not run")
    await drawn(env, handle, inp.window_closes)
    await refused(handle, L.certify, SETTER, "set the seats")
    await refused(handle, L.certify, CLERK, "needs lottery_certifier")
    certified = await handle.execute_update(L.certify, CERTIFIER)
    assert certified.certified and certified.certified_by == "tran"
    assert certified.stage is LotteryStage.certified
    assert certified.history[-1].event == "draw_certified"
    final = await handle.result()  # certified: the lottery's work here is done
    assert final.certified and final == await record(handle)


async def test_uncertified_draw_escalates_on_the_configured_day(
    env: WorkflowEnvironment, launch: Launch, engine: Engine
) -> None:
    handle, inp = await launch(applicants=1)
    await drawn(env, handle, inp.window_closes)
    day = inp.notify_by - timedelta(days=inp.escalation_days_before)
    at = calendar.at_local(day, time(8, 0), TZ)
    await skip_to(env, at - timedelta(minutes=1))
    # The server fired every timer due on the way before its clock got here, and the query
    # follows the workflow task such a timer woke: an early escalation would show.
    early = [e.event for e in (await record(handle)).history]
    assert "certification_escalated" not in early
    assert escalations(engine, inp.id) == []
    await skip_to(env, at + timedelta(minutes=1))
    await eventually(lambda: escalations(engine, inp.id), what="an escalation")
    found = escalations(engine, inp.id)
    assert len(found) == 1 and "certification" in found[0].subject
    events = [e.event for e in (await record(handle)).history]
    assert events.count("certification_escalated") == 1
    await handle.execute_update(L.certify, CERTIFIER)
    with env.auto_time_skipping_disabled():  # let the release finish before the teardown
        await handle.result()


async def test_recorded_result_re_verifies_and_tampering_shows(
    env: WorkflowEnvironment, launch: Launch
) -> None:
    handle, inp = await launch(applicants=5)
    closed = SeatKey(school="abbott-elementary", program=Program.regular, grade=0)
    await refused(handle, L.enter, applicant(6, closed), "not open", "add-seats")
    # VII: seats opened before the draw by a seat setter, who then may not certify.
    adder = Actor(name="lund", roles=["seat_setter", "lottery_certifier"])
    await handle.execute_update(L.add_seats, AddSeats(key=closed, seats=1, actor=adder))
    await handle.execute_update(L.enter, applicant(6, closed, residency=Residency.attendance_area))
    done = await drawn(env, handle, inp.window_closes)
    assert done.seat_map()[closed] == 1 and "lund" in done.seats_set_by
    assert done.result is not None
    assert "needs no transfer" in done.result.for_application("A6").reason  # type: ignore[union-attr]
    await refused(handle, L.certify, adder, "set the seats")
    assert done.seed and verify(done) == []
    for entry in done.applicants:
        assert entry.random_number == random_number(done.seed, entry.applicant.student_id)

    tampered = done.model_copy(deep=True)
    assert tampered.result is not None
    waiting = tampered.result.waitlist(KEY)[0]
    waiting.outcome = Outcome.placed
    waiting.waitlist_position = None
    differences = verify(tampered)
    assert any(waiting.application_id in d and "outcome" in d for d in differences)

    renumbered = done.model_copy(deep=True)
    renumbered.applicants[0].random_number += 1
    assert any("random number" in d for d in verify(renumbered))


async def test_the_seed_is_sealed_until_the_draw_and_checked_against_its_commitment(
    env: WorkflowEnvironment, launch: Launch
) -> None:
    handle, inp = await launch(applicants=3)
    shown = await record(handle)  # while applications are open
    assert shown.stage is LotteryStage.collecting
    assert shown.seed == "" and shown.seed_commitment.startswith("sha256:")
    assert [e.random_number for e in shown.applicants] == [None, None, None]
    opened = next(e for e in shown.history if e.event == "lottery_opened")
    assert opened.reason.endswith(f"seed committed as {shown.seed_commitment}")
    practice = await handle.query(L.rehearse)
    assert practice.seed == "" and practice.result is not None and practice.result.seed is None

    done = await drawn(env, handle, inp.window_closes)
    assert done.seed and seed_commitment(done.seed) == shown.seed_commitment  # revealed
    assert all(e.random_number is not None for e in done.applicants)
    assert verify(done) == []
    # A seed chosen after the applications were seen, with the draw re-run on it, is caught.
    chosen = done.model_copy(deep=True)
    chosen.seed = "a-seed-picked-later"
    for entry in chosen.applicants:
        entry.random_number = random_number(chosen.seed, entry.applicant.student_id)
    chosen.result = draw([e.applicant for e in chosen.applicants], chosen.seat_map(),
                         chosen.seed, frozenset(chosen.overcrowded_schools))
    problems = verify(chosen)
    assert problems and all("does not match the commitment" in p for p in problems)
    # Editing the commitment in the record too still leaves the opening's audit entry.
    rewritten = chosen.model_copy(update={"seed_commitment": seed_commitment(chosen.seed)})
    assert any(shown.seed_commitment in p for p in verify(rewritten))


async def test_withdraw_and_re_enter_keeps_the_random_number(launch: Launch) -> None:
    handle, _ = await launch()
    first = await handle.execute_update(L.enter, applicant(1))
    await handle.execute_update(L.withdraw, "A1")
    await refused(handle, L.withdraw, "A1", "no entered application")
    await refused(handle, L.enter, applicant(1), "already entered")
    again = await handle.execute_update(L.enter, applicant(11, student_id="S1"))
    assert again.random_number == first.random_number
    state = await record(handle)
    assert [e.applicant.application_id for e in state.applicants] == ["A11"]
    assert [e.applicant.application_id for e in state.withdrawn] == ["A1"]


async def test_a_full_run_goes_on_in_a_new_one_with_every_application(
    env: WorkflowEnvironment, worker: Worker
) -> None:
    """Temporal caps the Updates of a run: the lottery continues-as-new every N applications
    and carries its record, seed and numbers; the draw covers them all."""
    inp = (await make_input(env)).model_copy(update={"applications_per_run": 2})
    handle = await env.client.start_workflow(L.run, inp, id=inp.id, task_queue=worker.task_queue)
    try:
        first_run = (await handle.describe()).run_id
        entered = [await handle.execute_update(L.enter, applicant(n)) for n in (1, 2)]
        await handle.execute_update(L.withdraw, "A1")
        for n in (3, 4, 5):
            entered.append(await handle.execute_update(L.enter, applicant(n)))
        again = await handle.execute_update(L.enter, applicant(11, student_id="S1"))
        assert again.random_number == entered[0].random_number  # fixed across runs
        await refused(handle, L.enter, applicant(2), "already entered")
        assert (await handle.describe()).run_id != first_run
        preview = await drawn(env, handle, inp.window_closes)
        ids = sorted(e.applicant.application_id for e in preview.applicants)
        assert ids == ["A11", "A2", "A3", "A4", "A5"]
        assert [e.applicant.application_id for e in preview.withdrawn] == ["A1"]
        assert preview.seed == (await record(handle)).seed and verify(preview) == []
        assert [e.event for e in preview.history].count("lottery_opened") == 1
    finally:
        with contextlib.suppress(RPCError):
            await handle.terminate("test over")
