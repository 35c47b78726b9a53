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
from infra.proofs import Acting
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
from rules import receipts
from rules.lottery import draw, random_number
from rules.lottery_audit import verify
from store import notices as notice_store
from tests.support import workflows as helpers
from tests.support.proofs import client_with, parent, server_signer
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
    # VIII.A.2: in person until 5:00 p.m. CST, online (and the draw) at the end of the day
    assert inp.in_person_closes == datetime(2027, 2, 15, 23, 0, tzinfo=UTC)
    assert inp.in_person_closes.utcoffset() == timedelta(hours=-6)
    assert inp.window_closes == datetime(2027, 2, 16, 6, 0, tzinfo=UTC)
    assert calendar.local_date(inp.window_closes, TZ).isoformat() == "2027-02-16"
    # paper is delivered in person: entered through the end of February 18
    assert inp.paper_entry_closes == datetime(2027, 2, 19, 6, 0, tzinfo=UTC)
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


# ---- VIII.A.2: online until the end of the day, in person until 5:00 p.m. -----------------


async def two_closes(env: WorkflowEnvironment) -> LotteryInput:
    """A lottery whose forms delivered in person close at 5:00 p.m. three days ahead and
    whose online applications close at the end of that day, when it draws; paper forms are
    entered within 3 days of their receipt."""
    inp = await make_input(env)
    in_person = inp.window_closes
    day = calendar.local_date(in_person, TZ)
    return inp.model_copy(update={
        "window_closes": calendar.end_of_day(day, TZ),
        "in_person_closes": in_person,
        "window_opens": in_person - timedelta(days=30),
        "paper_entry_days": 3,
        "paper_entry_closes": receipts.paper_entry_closes(in_person, 3, TZ),
    })


def paper(n: int, received_at: datetime) -> Applicant:
    return applicant(n, received_at=received_at, received_by="olsen")


async def test_online_until_the_end_of_the_day_in_person_until_five(
    env: WorkflowEnvironment, worker: Worker
) -> None:
    """Rule 5110.1 VIII.A.2: "submitted online by on or before February 15 ... or by personal
    delivery, received no later than 5:00 p.m.". Online is the parent's own application,
    known from the proof (the role ``parent``): staff entering a form at 5:00 p.m., whatever
    their roles, are refused; a paper form received at 4:59 p.m. is taken; the parent's own
    application is taken until 11:59:59 p.m., and the draw runs at midnight."""
    inp = await two_closes(env)
    assert inp.in_person_closes is not None
    staff = env.client.get_workflow_handle(inp.id)
    as_parent = client_with(env, server_signer(env, acting=parent("p5@example.org")))
    online = as_parent.get_workflow_handle(inp.id)
    await env.client.start_workflow(L.run, inp, id=inp.id, task_queue=worker.task_queue)
    try:
        await staff.execute_update(L.enter, applicant(1))
        await skip_to(env, inp.in_person_closes - SECOND)  # 4:59:59 p.m.
        await staff.execute_update(L.enter, applicant(2))
        await skip_to(env, inp.in_person_closes)  # 5:00:00 p.m.
        await refused(staff, L.enter, applicant(3), "forms delivered in person",
                      "closed at", "online, on the portal, until")
        as_setter = client_with(env, server_signer(env, acting=Acting(
            subject="test:olsen", name="olsen", roles=tuple(SETTER.roles), district="")))
        await refused(as_setter.get_workflow_handle(inp.id), L.enter, applicant(3),
                      "forms delivered in person")
        await refused(staff, L.enter, paper(3, inp.in_person_closes), "forms delivered in person")
        await staff.execute_update(L.enter, paper(3, inp.in_person_closes - timedelta(minutes=1)))
        await online.execute_update(L.enter, applicant(5))
        assert (await record(staff)).stage is LotteryStage.collecting  # no draw at 5:00 p.m.
        await skip_to(env, inp.window_closes - SECOND)  # 11:59:59 p.m.
        await online.execute_update(L.enter, applicant(6))
        preview = await drawn(env, staff, inp.window_closes)
        assert preview.drawn_at is not None and preview.drawn_at >= inp.window_closes
        ids = sorted(e.applicant.application_id for e in preview.applicants)
        assert ids == ["A1", "A2", "A3", "A5", "A6"]
        await refused(online, L.enter, applicant(7), "closed at", "online, and at", "in person")
        opened = preview.history[0].reason
        assert "online until" in opened and "in person until" in opened
    finally:
        with contextlib.suppress(RPCError):
            await staff.terminate("test over")


async def test_a_lottery_with_one_close_takes_nothing_online_after_it(
    env: WorkflowEnvironment, launch: Launch
) -> None:
    """A lottery started before the two closes (no in-person close in its input), or of a
    district that closes online applications at 5:00 p.m. too, has one close for every
    channel and draws at it."""
    handle, inp = await launch(applicants=1)
    assert inp.in_person_closes is None
    online = client_with(env, server_signer(env, acting=parent())).get_workflow_handle(inp.id)
    await skip_to(env, inp.window_closes - SECOND)
    await online.execute_update(L.enter, applicant(2))
    preview = await drawn(env, handle, inp.window_closes)
    assert len(preview.applicants) == 2
    await refused(online, L.enter, applicant(3), "closed at")
