"""Within-district requests (seed 004, Rule 5110.1) with their lottery, on the time-skipping
server: the 5:00 p.m. close, the draw waking on its own, certification by a second person,
notices before the deadline, recommendations, waitlist offers, the reopened window, the
current-year decision, revocation on leaving the program, and the end of the level."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from temporalio.api.enums.v1 import EventType, WorkflowExecutionStatus
from temporalio.client import WorkflowHandle
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from app.submissions import start_within
from infra.proofs import LIFETIME, ProofClaims, SigningKey, digest, signal_action
from infra.settings import Settings
from intake.within import prepare_within
from models.lottery_record import AddSeats, LotteryStage, OfferAnswer
from models.people import Actor
from models.permits import PermitCondition, PermitProcess, PermitStage, Revoke
from models.within_district import Applicant
from models.within_request import (
    CurrentYearFactors,
    DecideWithin,
    LotteryNews,
    LotteryOutcome,
    Recommend,
    RecommendationKind,
    WithinKind,
    WithinStage,
)
from rules import calendar, within_windows
from rules.errors import PolicyError
from rules.lottery_audit import verify
from store import notices as notice_store
from store import records
from store.secrets import proof_keys
from tests.support import within as w
from tests.support import workflows as helpers
from tests.support.e2e import attachments_of
from tests.support.notices import pdf_text, permit_code_in_store
from tests.support.proofs import TEST_KEY
from tests.support.waiting import eventually
from tests.support.within import District, permit_of, stage_is, state
from tests.support.workflows import describe, mailing_worker, notice_in, quiescent, skip_to
from workflows.lottery import LotteryWorkflow as L
from workflows.permit import PermitWorkflow as P
from workflows.within_request import WithinRequestWorkflow as R

SECOND = timedelta(seconds=1)


def sent(engine: Engine, request_id: str, kind: str) -> list[notice_store.NoticeRow]:
    return [n for n in notice_store.list_notices(engine, request_id)
            if n.kind == kind and n.status == "sent"]


async def one_sent(d: District, request_id: str, kind: str) -> notice_store.NoticeRow:
    """The one notice of ``kind`` (a notice goes out just after its stage is recorded): sent,
    and once the request has nothing in flight, still the only one."""
    await eventually(lambda: sent(d.engine, request_id, kind), what=f"a {kind} notice")
    handle = d.env.client.get_workflow_handle(request_id)
    await eventually(lambda: quiescent(handle), what=f"{request_id} to have nothing in flight")
    (notice,) = sent(d.engine, request_id, kind)
    return notice


async def heard_news(handle: WorkflowHandle) -> bool:
    """Whether the lottery's news has been signalled to the request (by the server's history)."""
    events = (await handle.fetch_history()).events
    return any(e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
               and e.workflow_execution_signaled_event_attributes.signal_name == "lottery_news"
               for e in events)


async def refused(handle: WorkflowHandle, update: Any, arg: Any, *words: str) -> None:
    query = R.status if "Within" in str(update) else L.result
    await helpers.refused(handle, update, arg, *words, query=query)


@pytest.fixture
def env(private_env: WorkflowEnvironment) -> WorkflowEnvironment:
    """Workflows here signal each other mid-flight at a test's end, which can leave a shared
    server's clock locked for the next test."""
    return private_env


@pytest.fixture
async def district(
    env: WorkflowEnvironment, worker: Worker, engine: Engine
) -> AsyncIterator[District]:
    made = District(env, worker, engine, w.test_district(await env.get_current_time()))
    yield made
    # The time-skipping server counts an activity in flight, even of a terminated workflow,
    # until its timeout: let them finish. A timer left on a stopped worker's queue blocks
    # skipping too: end every workflow.
    for handle in made.handles:
        await eventually(lambda h=handle: describe(h), lambda d: not d.pending_activities,
                         what=f"{handle.id} activities")
    for handle in made.handles:
        with contextlib.suppress(RPCError):
            await handle.terminate("test over")
FACTORS = CurrentYearFactors(
    reasons="closer to the parent's work", time_of_year="early in the semester",
    capacity_and_staffing="room in grade 1", educational_program="no credit issues",
)


async def test_a_placement_does_not_wait_for_a_refused_parent_mailbox(
    env: WorkflowEnvironment, settings: Settings, engine: Engine
) -> None:
    """The designee's decision returns, and the permit is issued, while the parent's mail
    server refuses the placement notice; the notice is sent once, when the server takes it."""
    async with mailing_worker(env, settings) as (worker, inbox):
        d = District(env, worker, engine, w.test_district(await env.get_current_time()))
        try:
            first_day = d.config.calendar[d.year].first_day
            await skip_to(env, calendar.at_local(first_day, datetime.min.time(), w.TZ))
            handle = await d.submit(1, w.MONTESSORI_1, grade=1)
            await stage_is(handle, WithinStage.under_review)
            parent = "parent1@example.org"
            inbox.deferred = {parent}
            decide = DecideWithin(actor=w.DESIGNEE, approve=True, factors=FACTORS)
            placed = await asyncio.wait_for(handle.execute_update(R.decide, decide), 10)
            assert placed.stage is WithinStage.placed
            issued = await (await permit_of(d, handle.id)).query(P.status)
            assert issued.stage is PermitStage.active
            await notice_in(engine, handle.id, "within_placed", "failed")
            inbox.deferred = set()
            await env.sleep(timedelta(minutes=11))  # past the longest retry interval
            await notice_in(engine, handle.id, "within_placed", "sent")
            subjects = [m["Subject"] for m in inbox.to(parent)]
            assert len([x for x in subjects if "transfer approved" in x]) == 1, subjects
            # With the permit's PDF (docs/permits.md "The permit as a PDF").
            (mail,) = [m for m in inbox.to(parent) if "transfer approved" in m["Subject"]]
            media, pdf = attachments_of(mail)[f"{issued.id}.pdf"]
            printed = pdf_text(pdf)
            assert media == "application/pdf" and issued.school_name in printed
            assert permit_code_in_store(engine, issued.district, issued.id) in printed
        finally:
            for started in d.handles:
                with contextlib.suppress(RPCError):
                    await started.terminate("test over")


# ---- the next-year lottery --------------------------------------------------------------


async def test_closes_at_five_in_person_and_at_midnight_online_then_draws(
    district: District,
) -> None:
    """VIII.A.2: forms "by personal delivery, received no later than 5:00 p.m." (whatever
    staff enter) and applications "submitted online by on or before February 15" (the
    parent's own, signed for the parent): the lottery draws at the end of the day."""
    d = district
    handles = [await d.submit(n) for n in range(1, 5)]  # 4 requests, 2 seats
    receipt = await stage_is(handles[0], WithinStage.in_lottery)
    assert receipt.kind is WithinKind.next_year
    await skip_to(d.env, d.closes - SECOND)  # 4:59:59 p.m. Central: still in
    late_in = await d.submit(5)
    assert (await state(late_in)).received_at < d.closes
    await skip_to(d.env, d.closes)  # 5:00:00 p.m.: late in person ...
    with pytest.raises(PolicyError, match="forms delivered in person .* closed at"):
        await d.submit(6)
    # ... and a front that skips intake's check is refused by the lottery, for the same reason
    await refused(d.lottery, L.enter, w.request(d.config, 6).applicant("forged-6"),
                  "forms delivered in person", "online, on the portal, until")
    online = [await d.submit(7, online=True)]  # ... but not online
    assert (await d.record()).stage is LotteryStage.collecting  # no draw at 5:00 p.m.
    await skip_to(d.env, d.draws - SECOND)  # 11:59:59 p.m.
    online.append(await d.submit(8, online=True))
    await skip_to(d.env, d.draws)  # midnight: closed online too
    with pytest.raises(PolicyError, match="no window"):
        await d.submit(9, online=True)
    preview = await eventually(d.record, lambda r: r.stage is LotteryStage.preview,
                               what="the draw")
    assert preview.drawn_at is not None and preview.drawn_at >= d.draws
    entered = [e.applicant.student_id for e in preview.applicants]
    assert "S00006" not in entered and "S00009" not in entered
    assert {"S00007", "S00008"} <= set(entered)
    await refused(d.lottery, L.enter, w.request(d.config, 9).applicant("forged-9"),
                  "closed at", "online, and at", "in person")
    assert sent(d.engine, handles[0].id, "within_placed") == []  # a preview tells nobody
    handles += online

    await refused(d.lottery, L.certify, w.SETTER, "set the seats")
    await skip_to(d.env, d.paper_closes)  # paper forms received before the close are in
    done = await d.lottery.execute_update(L.certify, w.CERTIFIER)
    assert verify(done) == []
    assert done.result is not None
    outcome = {e.application_id: e for e in done.result.entries}
    notify_by = calendar.end_of_day(d.closes.date() + timedelta(days=14), w.TZ)
    for handle in [*handles, late_in]:
        entry = outcome[handle.id]
        final = await eventually(lambda h=handle: state(h),
                                 lambda s, e=entry: s.stage.value == e.outcome.value,
                                 what=entry.outcome)
        kind = {"placed": "within_placed", "waitlisted": "within_waitlisted"}[entry.outcome]
        notice = await one_sent(d, handle.id, kind)
        assert notice.sent_at is not None
        assert notice.sent_at.replace(tzinfo=notice.sent_at.tzinfo or UTC) <= notify_by
        if entry.outcome.value == "waitlisted":
            assert final.waitlist_position == entry.waitlist_position
            assert f"number {entry.waitlist_position} on the waitlist" in notice.subject
    assert sorted(e.outcome.value for e in done.result.entries) == [
        "placed", "placed", *["waitlisted"] * 5
    ]
    stored = records.get_request(d.engine, handles[0].id)
    assert stored is not None and stored.stage is not WithinStage.submitted


async def _one_seat_drawn(d: District) -> tuple[str, list[str], dict[str, WorkflowHandle]]:
    """Three applications for Montessori grade 1's one seat, drawn and certified: who is
    placed, the waitlist in order, and each application's workflow by its id."""
    handles = [await d.submit(n, w.MONTESSORI_1, grade=1) for n in range(1, 4)]
    done = await d.certified()
    assert done.result is not None
    placed = done.result.placed(w.MONTESSORI_1)[0].application_id
    line = [e.application_id for e in done.result.waitlist(w.MONTESSORI_1)]
    return placed, line, {h.id: h for h in handles}


async def test_offer_expires_and_passes_to_the_next(district: District) -> None:
    d = district
    placed, line, by_id = await _one_seat_drawn(d)
    await stage_is(by_id[line[1]], WithinStage.waitlisted)
    assert await d.lottery.query(L.waitlist_position, line[1]) == 2

    # The placed student leaves the Montessori program: the permit is revoked (IV.A) and the
    # seat goes back to the lottery.
    holder = await permit_of(d, placed)
    await holder.execute_update(P.leave_program, Revoke(actor=w.SETTER))
    first = await stage_is(by_id[line[0]], WithinStage.offered)
    assert first.offer_deadline is not None
    offer = await one_sent(d, line[0], "within_offer")
    assert calendar.long_date(first.offer_deadline) in offer.body
    assert await d.lottery.query(L.waitlist_position, line[1]) == 1
    await refused(d.lottery, L.accept_offer,
                  OfferAnswer(application_id=line[1], actor=w.CERTIFIER), "no open offer")
    await refused(d.lottery, L.accept_offer,
                  OfferAnswer(application_id=line[0], actor=w.DESIGNEE), "student_services")

    await skip_to(d.env, calendar.end_of_day(first.offer_deadline, w.TZ) - SECOND)
    assert (await state(by_id[line[0]])).stage is WithinStage.offered  # still its last day
    await skip_to(d.env, calendar.end_of_day(first.offer_deadline, w.TZ))
    await stage_is(by_id[line[0]], WithinStage.offer_expired)
    await stage_is(by_id[line[1]], WithinStage.offered)
    await refused(d.lottery, L.accept_offer,
                  OfferAnswer(application_id=line[0], actor=w.CERTIFIER), "no open offer")
    await d.lottery.execute_update(
        L.accept_offer, OfferAnswer(application_id=line[1], actor=w.CERTIFIER)
    )
    accepted = await stage_is(by_id[line[1]], WithinStage.placed)
    assert accepted.assigned_school == "norris-elementary"
    ledger = await d.record()
    assert ledger.offers == [] and line[1] in ledger.holders and placed not in ledger.holders


async def test_added_seat_is_offered_and_a_declined_offer_passes_on(district: District) -> None:
    d = district
    handles = [await d.submit(n, w.MONTESSORI_1, grade=1) for n in range(1, 4)]
    done = await d.certified()
    assert done.result is not None
    line = [e.application_id for e in done.result.waitlist(w.MONTESSORI_1)]
    by_id = {h.id: h for h in handles}
    await refused(d.lottery, L.add_seats,
                  AddSeats(key=w.MONTESSORI_1, seats=1, actor=w.CERTIFIER), "seat_setter")
    await d.lottery.execute_update(L.add_seats,
                                   AddSeats(key=w.MONTESSORI_1, seats=1, actor=w.SETTER))
    await stage_is(by_id[line[0]], WithinStage.offered)
    await d.lottery.execute_update(
        L.decline_offer, OfferAnswer(application_id=line[0], actor=w.CERTIFIER)
    )
    await stage_is(by_id[line[0]], WithinStage.declined)
    await stage_is(by_id[line[1]], WithinStage.offered)
    await one_sent(d, line[0], "within_declined")


# ---- recommendations, revocation, the level -----------------------------------------------


async def test_special_education_request_waits_for_its_recommendation(district: District) -> None:
    d = district
    flagged = await d.submit(1, special_education=True)
    other = await d.submit(2)
    waiting = await stage_is(flagged, WithinStage.awaiting_recommendation)
    assert waiting.pending_recommendations() == [RecommendationKind.special_education]
    done = await d.certified()
    assert done.result is not None and len(done.result.placed(w.MONTESSORI_K)) == 2
    await stage_is(other, WithinStage.placed)
    # The lottery's news has reached the flagged request (its history says so) and the query
    # follows the workflow task that took it: the request holds it until the recommendation.
    await eventually(lambda: heard_news(flagged), what="the lottery's news at the flagged request")
    held = await state(flagged)
    assert held.stage is WithinStage.awaiting_recommendation  # no result before it
    assert sent(d.engine, flagged.id, "within_placed") == []
    advice = Recommend(actor=w.DESIGNEE, kind=RecommendationKind.special_education,
                       recommended=True, reasoning="IEP services available at Norris")
    await refused(flagged, R.recommend, advice, "director_special_education")
    await refused(flagged, R.decide, DecideWithin(actor=w.DESIGNEE, approve=True,
                                                  factors=FACTORS), "lottery")
    await flagged.execute_update(R.recommend, advice.model_copy(update={"actor": w.SPED_DIRECTOR}))
    placed = await stage_is(flagged, WithinStage.placed)
    assert placed.recommendations[0].by == "rivera"
    assert "IEP services" in placed.recommendations[0].reasoning
    await one_sent(d, flagged.id, "within_placed")


async def test_recommendation_against_denies_and_frees_the_seat(district: District) -> None:
    d = district
    flagged = await d.submit(  # tier 1 (VIII.C.1.a): placed ahead of the others
        1, w.MONTESSORI_1, grade=1, english_learner=True, residency="attendance_area",
        home_school="norris-elementary", current_school="norris-elementary",
    )
    others = [await d.submit(n, w.MONTESSORI_1, grade=1) for n in (2, 3)]
    done = await d.certified()
    assert done.result is not None
    assert done.result.placed(w.MONTESSORI_1)[0].application_id == flagged.id
    await flagged.execute_update(R.recommend, Recommend(
        actor=w.DESIGNEE, kind=RecommendationKind.english_learner, recommended=False,
        reasoning="no EL-endorsed staff in that program next year"))
    denied = await stage_is(flagged, WithinStage.denied)
    assert "EL-endorsed" in denied.reason
    first = done.result.waitlist(w.MONTESSORI_1)[0].application_id
    by_id = {h.id: h for h in others}
    await stage_is(by_id[first], WithinStage.offered)


async def test_a_placement_issues_its_permit_and_leaving_the_program_frees_the_seat(
    district: District,
) -> None:
    d = district
    handles = [await d.submit(n) for n in (1, 2, 3)]  # Montessori K: 2 seats
    done = await d.certified()
    assert done.result is not None
    placed = done.result.placed(w.MONTESSORI_K)[0].application_id
    waiting = done.result.waitlist(w.MONTESSORI_K)[0].application_id
    request = await stage_is({h.id: h for h in handles}[placed], WithinStage.placed)
    assert request.permit_id == f"PERMIT-{placed}"
    permit = await permit_of(d, placed)
    issued = await permit.query(P.status)
    assert issued.process is PermitProcess.within_district
    assert issued.condition is PermitCondition.until_level_end
    assert (issued.school, issued.program, issued.home_school) == (
        "norris-elementary", "montessori", "abbott-elementary")
    assert (issued.grade, issued.level_last_grade, issued.school_year) == (0, 5, d.year)
    assert issued.lottery_id == d.lottery.id  # IV.D: the level ends after grade 5 at Norris
    revoked = await permit.execute_update(P.leave_program, Revoke(actor=w.SETTER))
    assert revoked.stage is PermitStage.revoked and revoked.school == "abbott-elementary"
    notice = await one_sent(d, placed, "permit_revoked")
    assert "IV.A" in notice.body
    record = await eventually(d.record, lambda r: bool(r.offers), what="the freed seat offered")
    assert [o.application_id for o in record.offers] == [waiting]


# ---- the reopened window and the current school year ------------------------------------


async def test_reopened_window_first_come_first_served(district: District) -> None:
    d = district
    seats = w.MONTESSORI_K  # 2 seats
    first = await d.submit(1)
    await d.certified()
    await stage_is(first, WithinStage.placed)
    completes = d.config.within_district.option_enrollment_complete[d.year]
    with pytest.raises(PolicyError, match="reopens"):
        await d.submit(2)
    await skip_to(d.env, calendar.end_of_day(completes, w.TZ))
    second = await d.submit(2, seats)
    assert (await state(second)).kind is WithinKind.reopened
    third = await d.submit(3, seats)
    await stage_is(second, WithinStage.placed)
    waiting = await stage_is(third, WithinStage.waitlisted)
    assert waiting.waitlist_position == 1
    ledger = await d.record()
    assert [r.applicant.application_id for r in ledger.reopened] == [second.id, third.id]
    assert verify(ledger) == []  # the reopened applications are not part of the draw


async def test_current_year_request_is_decided_with_the_ix_b_factors(
    district: District,
) -> None:
    d = district
    first_day = d.config.calendar[d.year].first_day
    await skip_to(d.env, calendar.at_local(first_day, datetime.min.time(), w.TZ))
    handle = await d.submit(1, w.MONTESSORI_1, grade=1)
    review = await stage_is(handle, WithinStage.under_review)
    assert review.kind is WithinKind.current_year and review.lottery_id is None
    await refused(handle, R.decide, DecideWithin(actor=w.SETTER, approve=True, factors=FACTORS),
                  "superintendent_designee")
    approved = await handle.execute_update(
        R.decide, DecideWithin(actor=w.DESIGNEE, approve=True, factors=FACTORS)
    )
    assert approved.stage is WithinStage.placed and approved.factors == FACTORS
    history = records.get_history(d.engine, handle.id)
    assert "time of year: early in the semester" in history[-1].reason
    issued = await (await permit_of(d, handle.id)).query(P.status)
    assert issued.lottery_id is None and issued.grade == 1


# ---- signals between workflows, proven (docs/cross-cutting.md "Signals between workflows") --


async def taken(handle: WorkflowHandle, signal: str, count: int = 1) -> None:
    """The run has received ``count`` signals named ``signal`` and has done all it does
    with them (by the server's history: nothing in flight after them)."""

    async def received() -> int:
        events = (await handle.fetch_history()).events
        return sum(e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
                   and e.workflow_execution_signaled_event_attributes.signal_name == signal
                   for e in events)

    await eventually(received, lambda n: n >= count, what=f"{count} {signal} signal(s)")
    await eventually(lambda: quiescent(handle), what=f"{handle.id} to take its {signal}")


def _signal_proof(key: SigningKey, sender: str, target: str, signal: str, payload: Any) -> str:
    """A proof for a signal as a worker would sign it, with ``key``, claiming ``sender``."""
    now = datetime.now(UTC)
    return key.sign(ProofClaims(
        sub=sender, name="system", roles=[], district="", wf=target,
        act=signal_action(signal), dig=digest([payload]), iat=now, exp=now + LIFETIME,
        jti=uuid.uuid4().hex,
    ))


async def test_a_forged_forfeit_frees_no_seat(district: District) -> None:
    """``forfeit`` sent straight to the lottery: without a proof, with a proof of a key the
    district does not trust, and with a staff member's proof (the tests' trusted front key:
    a person's proof, not a workflow's). None frees the placed student's seat; the waitlist
    is as it was after the clock moves on; a real withdrawal still frees it."""
    d = district
    placed, line, by_id = await _one_seat_drawn(d)
    await stage_is(by_id[line[0]], WithinStage.waitlisted)
    await eventually(lambda: quiescent(d.lottery), what="the lottery at rest")

    mallory = SigningKey.from_seed(hashlib.sha256(b"mallory").digest())
    forged = [
        [placed],
        [placed, _signal_proof(mallory, f"workflow:{placed}", d.lottery.id, "forfeit", placed)],
        [placed, _signal_proof(TEST_KEY, "test:olsen", d.lottery.id, "forfeit", placed)],
    ]
    for n, args in enumerate(forged, start=1):
        await d.lottery.signal("forfeit", args=args)
        await taken(d.lottery, "forfeit", n)
    await skip_to(d.env, await d.env.get_current_time() + timedelta(days=2))
    ledger = await d.record()
    assert placed in ledger.holders and ledger.offers == []
    assert (await state(by_id[line[0]])).stage is WithinStage.waitlisted
    assert (await state(by_id[placed])).stage is WithinStage.placed

    holder = await permit_of(d, placed)  # the real thing: the seat goes to the next in line
    await holder.execute_update(P.leave_program, Revoke(actor=w.SETTER))
    await stage_is(by_id[line[0]], WithinStage.offered)


async def test_forged_lottery_news_places_nobody(district: District) -> None:
    """A request in the lottery told it is placed: by nobody (no proof), and by another
    workflow's proof signed with the district's own key (a lottery not its own). It stays
    in the lottery, no placement notice goes out; the real draw then places it."""
    d = district
    handle = await d.submit(1)
    await stage_is(handle, WithinStage.in_lottery)
    await eventually(lambda: quiescent(handle), what="the request at rest")
    news = LotteryNews(outcome=LotteryOutcome.placed, lottery_id=d.lottery.id, seq=999)
    district_key = SigningKey.from_seed(proof_keys(d.engine)[-1].seed)
    other = _signal_proof(district_key, "workflow:lottery-elsewhere", handle.id, "lottery_news",
                          news)
    await handle.signal("lottery_news", args=[news])
    await handle.signal("lottery_news", args=[news, other])
    await taken(handle, "lottery_news", 2)
    assert (await state(handle)).stage is WithinStage.in_lottery
    assert sent(d.engine, handle.id, "within_placed") == []

    await d.certified()
    placed = await stage_is(handle, WithinStage.placed)
    assert placed.history[-1].actor == d.lottery.id
    await one_sent(d, handle.id, "within_placed")


# ---- paper forms and one clock for intake (issue 19) --------------------------------------


def paper_applicant(d: District, n: int, received_at: datetime) -> Applicant:
    """A paper form's application, sent to the lottery as a front would (no client check)."""
    return w.request(d.config, n).applicant(f"{d.config.id}-paper-{n}").model_copy(
        update={"received_at": received_at, "received_by": "olsen"})


async def test_a_paper_form_received_at_4_59_and_entered_at_5_30_is_in_the_certified_draw(
    district: District,
) -> None:
    """Rule 5110.1 VIII.A.2 counts forms "received no later than 5:00 p.m.": one handed in at
    4:59 p.m. and typed in at 5:30 p.m. is taken, one received at 5:00 p.m. is not; one typed
    in after the draw (at the end of the day) is drawn again into the preview; the draw is
    certified only once the paper forms' entry period is over."""
    d = district
    live = [await d.submit(n) for n in range(1, 3)]
    await skip_to(d.env, d.closes + timedelta(minutes=30))  # 5:30 p.m.
    received = d.closes - timedelta(minutes=1)  # 4:59 p.m.
    paper = await d.submit(3, received_at=received, received_by="olsen")
    got = await state(paper)
    assert got.received_at == received and got.received_by == "olsen"
    assert got.entered_at is not None and got.entered_at >= d.closes + timedelta(minutes=30)
    assert got.kind is WithinKind.next_year
    audit = got.history[0].reason
    assert "paper form received 2" in audit and "16:59:00" in audit and "by olsen" in audit
    assert "entered" in audit and "17:30" in audit
    # Received at 5:00:00 p.m.: late, whoever types it in and whatever their machine says.
    await refused(d.lottery, L.enter, paper_applicant(d, 4, d.closes),
                  "forms delivered in person", "closed at")
    with pytest.raises(PolicyError, match="forms delivered in person"):
        await d.submit(4, received_at=d.closes, received_by="olsen")

    await skip_to(d.env, d.draws + timedelta(minutes=30))  # 12:30 a.m., after the draw
    preview = await eventually(d.record, lambda r: r.stage is LotteryStage.preview,
                               what="the draw")
    assert len(preview.applicants) == 3
    after = await d.submit(5, received_at=received, received_by="olsen")
    redrawn = await d.record()
    assert after.id in [e.applicant.application_id for e in redrawn.applicants]
    assert [e.event for e in redrawn.history].count("draw_redrawn") == 1
    assert redrawn.result is not None and len(redrawn.result.entries) == 4
    await refused(d.lottery, L.enter, paper_applicant(d, 6, d.closes), "closed at")

    # Certification waits for paper forms received before the close.
    await refused(d.lottery, L.certify, w.CERTIFIER, "paper forms", "paper_entry_days")
    await skip_to(d.env, d.paper_closes)
    done = await d.lottery.execute_update(L.certify, w.CERTIFIER)
    assert verify(done) == []
    assert done.result is not None
    assert {paper.id, after.id} <= {e.application_id for e in done.result.entries}
    for handle in [*live, paper, after]:
        await eventually(lambda h=handle: state(h),
                         lambda s: s.stage in (WithinStage.placed, WithinStage.waitlisted),
                         what="the certified result")


async def test_a_paper_form_is_entered_within_the_districts_days_and_never_from_the_future(
    district: District,
) -> None:
    d = district
    await d.submit(1)  # the lottery starts
    now = await d.env.get_current_time()
    # A machine two hours ahead lets a form "received" in an hour through; the lottery's
    # clock refuses it, and nothing starts.
    with pytest.raises(PolicyError, match="in the future"):
        await d.submit(2, received_at=now + timedelta(hours=1), received_by="olsen",
                       clock=now + timedelta(hours=2))
    assert records.find_open_request(d.engine, d.config.id, "S00002", None,
                                     records.WITHIN) is None
    opens = within_windows.district_next_year_window(d.config.within_district, d.year,
                                                     w.TZ).opens
    await refused(d.lottery, L.enter, paper_applicant(d, 3, opens - SECOND), "before",
                  "opened")
    # Received at 4:59 p.m. on the close's day: entered through the end of the third day
    # after (millard's paper_entry_days), not a second later.
    assert d.config.paper_entry_days == 3
    received = d.closes - timedelta(minutes=1)
    await skip_to(d.env, d.paper_closes - timedelta(minutes=1))
    last = await d.submit(4, received_at=received, received_by="olsen")
    assert (await state(last)).received_at == received
    await skip_to(d.env, d.paper_closes)
    await refused(d.lottery, L.enter, paper_applicant(d, 5, received), "had to be entered by",
                  (d.closes.date() + timedelta(days=3)).isoformat())
    with pytest.raises(PolicyError, match="had to be entered by"):
        await d.submit(5, received_at=received, received_by="olsen")
    await d.lottery.execute_update(L.certify, w.CERTIFIER)  # the entry period is over


async def test_a_staff_machine_with_a_wrong_clock_cannot_change_the_verdict(
    district: District,
) -> None:
    """The machine's clock says school has begun (a current-year request, IX); the workflows'
    clock says the next-year window is open: the request refuses to start, leaving nothing,
    and its id is free for the same form from a right clock."""
    d = district
    first_day = d.config.calendar[d.year].first_day
    wrong = calendar.at_local(first_day + timedelta(days=1), time(9), w.TZ)
    inp = prepare_within(w.request(d.config, 1), d.config, wrong, d.engine, "avalos")
    assert inp.kind is WithinKind.current_year and inp.lottery_id is None
    with pytest.raises(PolicyError, match="check that machine's clock"), \
            d.env.auto_time_skipping_disabled():  # as District.submit: the clock stays put
        await start_within(d.env.client, inp, d.config, d.worker.task_queue)
    failed = d.env.client.get_workflow_handle(inp.id)
    assert (await describe(failed)).workflow_execution_info.status == (
        WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_FAILED)
    assert records.get_request(d.engine, inp.id) is None
    assert notice_store.list_notices(d.engine, inp.id) == []
    again = await d.submit(1)
    assert again.id == inp.id
    assert (await stage_is(again, WithinStage.in_lottery)).kind is WithinKind.next_year


async def test_a_current_year_paper_form_is_judged_by_the_request_on_its_clock(
    district: District,
) -> None:
    """IX: no lottery; the request's own workflow refuses a paper form entered too late by its
    clock, though the machine's clock found it in time, and takes one entered in time, its
    receipt the received time."""
    d = district
    first_day = d.config.calendar[d.year].first_day
    await skip_to(d.env, calendar.at_local(first_day + timedelta(days=10), time(9), w.TZ))
    received = calendar.at_local(first_day + timedelta(days=5), time(15, 30), w.TZ)
    with pytest.raises(PolicyError, match="had to be entered by"):
        await d.submit(1, w.MONTESSORI_1, grade=1, received_at=received, received_by="olsen",
                       clock=received + timedelta(days=1))
    assert records.find_open_request(d.engine, d.config.id, "S00001", None,
                                     records.WITHIN) is None
    received = calendar.at_local(first_day + timedelta(days=8), time(15, 30), w.TZ)
    handle = await d.submit(1, w.MONTESSORI_1, grade=1, received_at=received,
                            received_by="olsen")
    got = await stage_is(handle, WithinStage.under_review)
    assert got.kind is WithinKind.current_year
    assert got.received_at == received and got.received_by == "olsen"
    stored = records.get_request(d.engine, handle.id)
    assert stored is not None


async def test_the_certifier_may_say_every_paper_form_is_in_and_certify_at_once(
    district: District,
) -> None:
    """docs/lottery.md "Paper forms after the close": the certifier, not the seat setter, may
    close the paper forms' entry; after it no paper form is taken and the draw is certified
    before the period ends."""
    d = district
    await d.submit(1)
    await skip_to(d.env, d.draws)
    await eventually(d.record, lambda r: r.stage is LotteryStage.preview, what="the draw")
    await refused(d.lottery, L.certify, w.CERTIFIER, "paper forms", "--all-paper-entered")
    await refused(d.lottery, L.close_paper, w.SETTER, "set the seats")
    closed = await d.lottery.execute_update(L.close_paper, w.CERTIFIER)
    assert closed.history[-1].event == "paper_forms_closed"
    assert closed.history[-1].actor == "tran"
    await refused(d.lottery, L.enter, paper_applicant(d, 2, d.closes - SECOND), "closed at")
    done = await d.lottery.execute_update(L.certify, w.CERTIFIER)
    assert done.certified and await d.env.get_current_time() < d.paper_closes


async def test_a_parents_proof_answers_an_offer_by_its_last_day_and_nothing_else(
    district: District,
) -> None:
    """docs/portal.md "Parents acting": an answer signed for a parent (the role ``parent``,
    as the portal signs it) is taken by the offer's last day, refused after it; the same
    proof may not add seats."""
    d = district
    placed, line, by_id = await _one_seat_drawn(d)
    holder = await permit_of(d, placed)
    await holder.execute_update(P.leave_program, Revoke(actor=w.SETTER))
    first = await stage_is(by_id[line[0]], WithinStage.offered)
    assert first.offer_deadline is not None
    parent = Actor(name="parent parent1@example.org", roles=["parent"])
    await refused(d.lottery, L.add_seats, AddSeats(key=w.MONTESSORI_1, seats=3, actor=parent),
                  "may not add seats")
    await skip_to(d.env, calendar.end_of_day(first.offer_deadline, w.TZ))
    await stage_is(by_id[line[0]], WithinStage.offer_expired)
    await refused(d.lottery, L.accept_offer,
                  OfferAnswer(application_id=line[0], actor=parent), "no open offer")
    await stage_is(by_id[line[1]], WithinStage.offered)
    await d.lottery.execute_update(
        L.accept_offer, OfferAnswer(application_id=line[1], actor=parent))
    await stage_is(by_id[line[1]], WithinStage.placed)
