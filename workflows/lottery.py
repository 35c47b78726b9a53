"""The next-year within-district lottery (seed 004, Rule 5110.1 VIII): one workflow per district
and school year (docs/lottery.md "The lottery of a district and school year").

It collects applications while the window is open (Updates ``enter`` and ``withdraw``), wakes
at the window's close on a durable timer and draws a preview, which only a second staff member
with the certifier role, not the one who set the seats, may certify. An uncertified draw is
escalated to staff every morning from N days before the notification deadline. The query
``result`` returns the record anyone can re-run the draw from (``rules.lottery_audit.verify``).

Certification releases the result: every application's request workflow (its id is the
application id) gets the ``lottery_news`` Signal and sends the parent's notice, placed,
waitlisted with position, or denied. From then until the first day of school the lottery keeps
the seats: a seat that frees (the ``forfeit`` Signal from a request: a withdrawal, a denial on
recommendation, a revocation; a declined or expired offer; ``add_seats``) is offered to the next
in line with a deadline (``offer_accept_days``, 10 if unset); an offer not accepted by the end
of its last day passes on; a student holds at most one open offer. After option enrollment
completes the window reopens (VIII.A.3): first come, first served, behind the drawn waitlist.
The seats' policy is ``rules.seat_ledger.SeatLedger``, pure; this workflow keeps its clock,
its audit trail and the news to the requests.

Scale: the applications live in this workflow's state and history; a district's few thousand
applications a year fit Temporal's limits, a county's hundred thousand would need them in the
records store (noted in the README).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import FailureError

from workflows.common import audit, signals, versions
from workflows.common.notify import NoticesUnderway
from workflows.common.updates import checked_update
from workflows.common.waiting import (
    authorize,
    record,
    refuse,
    sent_by_parent,
    today_in,
    wait_until,
)

with workflow.unsafe.imports_passed_through():
    import rules.calendar as calendar
    from activities.records import RecordActivities
    from models.lottery_record import (
        AddSeats,
        LotteryEvent,
        LotteryInput,
        LotteryRecord,
        LotteryStage,
        Offer,
        OfferAnswer,
        RecordedApplicant,
        SeatCount,
        seed_commitment,
    )
    from models.notices import Notice, NoticeKind
    from models.people import Actor
    from models.within_district import Applicant, LotteryEntry
    from models.within_request import LotteryNews, LotteryOutcome
    from rules.errors import PolicyError
    from rules.lottery import draw, random_number
    from rules.lottery_audit import recorded_tier, verify
    from rules.receipts import check_received
    from rules.seat_ledger import Freed, SeatLedger
    from rules.tiers import NoTransferNeeded, tier_label
    from rules.within_windows import Window, certification_escalation_day
    from workflows.common import attributes

__all__ = ["LotteryWorkflow", "lottery_id", "verify"]

ESCALATION_CLOCK = time(8, 0)  # staff escalations go out at 8 a.m. local time
NEWS_BATCH = 100  # request workflows told per workflow task


def lottery_id(district_id: str, school_year: str) -> str:
    return f"lottery-{district_id}-{school_year}"


@workflow.defn(name="WithinDistrictLottery")
class LotteryWorkflow:
    @workflow.init
    def __init__(self, inp: LotteryInput) -> None:
        self.inp = inp
        self.record = LotteryRecord(
            id=inp.id,
            district_id=inp.district_id,
            school_year=inp.school_year,
            seed=inp.seed or str(workflow.uuid4()),  # fixed once per lottery, replay-safe
            stage=LotteryStage.collecting,
            window_closes=inp.window_closes,
            seats=list(inp.seats),
            overcrowded_schools=list(inp.overcrowded_schools),
            seats_set_by=inp.seats_set_by,
        )
        self.attributes = attributes.Publisher(
            inp.district_id, inp.school_year, inp.timezone
        )
        if inp.carried is not None:  # the same lottery, continued in a new run
            self.record = inp.carried
        entered = [*self.record.applicants, *self.record.withdrawn]
        # Every application id ever entered; the ledger knows each one's student.
        self.entered_ids = {e.applicant.application_id for e in entered}
        # The seats after certification (rules/seat_ledger.py; copied to the record by
        # ``_publish``).
        self.ledger = SeatLedger(timezone=inp.timezone, accept_days=inp.offer_accept_days)
        for e in entered:
            self.ledger.entered(e.applicant.application_id, e.applicant.student_id)
        self.entered_this_run = 0
        self.last_news: dict[str, LotteryNews] = {}  # what each request was told last
        self.resend: list[str] = []
        self.inbox = signals.Inbox()  # the requests' and permits' signals, proven
        # Its staff escalations: awaited as before; one that fails for good is logged and
        # the lottery goes on (an escalation is not escalated).
        self.notices = NoticesUnderway()
        self.changed = False
        self.saved_version = 0
        # Versioned (``paper-forms``): from this change on a paper form received before the
        # close is taken until its entry period ends, redrawing the preview, and the draw is
        # certified only after that (docs/lottery.md "Paper forms after the close").
        self.paper = inp.paper_entry_closes is not None and versions.patched("paper-forms")
        self.paper_closed_by: str | None = None  # the certifier who said every form is in
        # Versioned (``online-until-midnight``): from this change on forms delivered in person
        # close at 5:00 p.m. and online applications at the end of the day, when the draw
        # runs (docs/lottery.md "Online and in person").
        self.two_closes = (inp.in_person_closes is not None
                           and versions.patched("online-until-midnight"))

    # ---- the stages -------------------------------------------------------------------

    @workflow.run
    async def run(self, inp: LotteryInput) -> LotteryRecord:
        # Versioned: lotteries started by the first release end at certification; from this
        # one on they release the results, keep the seats and write the records store.
        self.releases = versions.patched("lottery-releases-results")
        if inp.carried is None:
            opened = f"applications until {inp.window_closes.isoformat()} (VIII.A.2)"
            if self.two_closes:
                assert inp.in_person_closes is not None
                opened = (f"applications online until {inp.window_closes.isoformat()}, "
                          f"in person until {inp.in_person_closes.isoformat()} (VIII.A.2)")
            # Versioned: from this change on the seed is sealed until the draw and only its
            # commitment is published at the opening (docs/lottery.md "The sealed seed").
            if versions.patched("lottery-sealed-seed"):
                self.record.seed_commitment = seed_commitment(self.record.seed)
                opened += f"; seed committed as {self.record.seed_commitment}"
            self._log(LotteryStage.collecting, "lottery_opened", "system", opened)
        # Durable: wakes at the close, 5:00 p.m. excluded. Temporal caps the Updates of one run
        # (2,000 by default), so every ``applications_per_run`` applications the lottery goes on
        # in a new run that carries its record.
        if await wait_until(self._run_is_full, inp.window_closes):
            await workflow.wait_condition(workflow.all_handlers_finished)
            workflow.continue_as_new(inp.model_copy(update={"carried": self.record}))
        self._draw()
        if not self.releases:  # a lottery started before results were released by it
            await self._await_certification()
            await workflow.wait_condition(workflow.all_handlers_finished)
            return self.record
        await self._save()
        await self._await_certification()
        await self._release()
        if inp.ledger_closes is not None:
            await self._keep_seats(inp.ledger_closes)
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self._save()
        return self.record

    def _draw(self, late: Applicant | None = None) -> None:
        """VIII.B: the draw is a preview; no parent is told until it is certified. ``late``:
        a paper form received before the close and entered after it, drawn again with it."""
        self.record.result = draw(
            [e.applicant for e in self.record.applicants],
            self.record.seat_map(),
            self.record.seed,
            frozenset(self.record.overcrowded_schools),
        )
        self.record.drawn_at = workflow.now()
        result = self.record.result
        placed = sum(1 for e in result.entries if e.outcome.value == "placed")
        if late is not None:
            zone = calendar.ZoneInfo(self.inp.timezone)
            received = late.received_at.astimezone(zone) if late.received_at else None
            self._log(
                LotteryStage.preview, "draw_redrawn", "system",
                f"paper form {late.application_id} received "
                f"{received.isoformat() if received else '?'} by {late.received_by}, entered "
                f"{workflow.now().astimezone(zone).isoformat()}: {len(result.entries)} "
                f"applications, {placed} placed; awaiting certification",
            )
            return
        self._log(
            LotteryStage.preview, "draw_previewed", "system",
            f"{len(result.entries)} applications, {placed} placed; awaiting certification",
        )

    async def _await_certification(self) -> None:
        """Escalate every morning from N days before the notification deadline until it is
        certified; past the deadline keep waiting (the escalations said so)."""
        first = certification_escalation_day(self.inp.notify_by, self.inp.escalation_days_before)
        day = max(first, today_in(self.inp.timezone))
        while day <= self.inp.notify_by and not self.record.certified:
            instant = calendar.at_local(day, ESCALATION_CLOCK, self.inp.timezone)
            if instant < workflow.now():
                day += timedelta(days=1)
                continue
            if await wait_until(lambda: self.record.certified, instant):
                break
            seq = self._log(
                self.record.stage, "certification_escalated", "system",
                f"the draw is not certified; parents must be notified by "
                f"{self.inp.notify_by.isoformat()}",
            )
            await self._escalate(
                f"{day.isoformat()}", seq,
                "awaits certification of its draw",
                f"The {self.inp.school_year} lottery was drawn but no second staff member has "
                f"certified it. Parents must be notified on or before "
                f"{calendar.long_date(self.inp.notify_by)} (Rule 5110.1 VIII).",
            )
            day += timedelta(days=1)
        await workflow.wait_condition(lambda: self.record.certified)

    async def _release(self) -> None:
        """Certified: every request is told its result, and the ledger starts from it."""
        result = self.record.result
        assert result is not None
        self.ledger.release(result, self.record.seat_map())
        self._publish()
        seq = self._log(
            self.record.stage, "results_released", "system",
            f"{len(result.entries)} requests told their result",
        )
        await self._tell([(e.application_id, self._news_of(e, seq)) for e in result.entries])
        await self._save()

    async def _keep_seats(self, closes: datetime) -> None:
        """Until the first day of school: forfeits free seats, expired offers pass on, and
        every free seat goes to the next in line who holds no other open offer."""
        while True:
            # Cleared before the work, not after it: an Update or Signal that lands while this
            # pass awaits a signal or a write sets it again, and the wait below returns at once.
            self.changed = False
            resend, self.resend = self.resend, []
            await self._tell([(a, self.last_news[a]) for a in resend])
            await self._apply_forfeits()
            await self._expire_offers()
            await self._fill()
            self._publish()
            await self._save()
            if workflow.now() >= closes:
                break
            await wait_until(lambda: self.changed, min([closes, *self.ledger.deadlines()]))
        # The first day of school: the next-year process ends; what is still waiting ends
        # with it, so no request stays open (VI.C) and the current-year process (IX) is open.
        why = (
            "the waitlist ended on the first day of school; a current-year request (IX) may "
            "be made"
        )
        closed = self.ledger.close()
        seq = self._log(
            LotteryStage.closed, "ledger_closed", "system",
            f"{len(closed.offered)} open offers and "
            f"{len(closed.waiting)} waiting requests ended",
        )
        news = [
            (a, self._news(LotteryOutcome.offer_expired, seq, reason=why)) for a in closed.offered
        ]
        news += [(a, self._news(LotteryOutcome.denied, seq, reason=why)) for a in closed.waiting]
        self._publish()
        await self._tell(news)

    async def _apply_forfeits(self) -> None:
        """docs/lottery.md "Seats that free": each thing a forfeit freed is an audit entry."""
        for done in self.ledger.apply_forfeits():
            app_id, key = done.application_id, done.key
            if done.what is Freed.seat:
                self._log(self.record.stage, "seat_freed", "system",
                          f"{app_id} gave up its seat in {key.describe()}")
            elif done.what is Freed.offer:
                self._log(self.record.stage, "offer_forfeited", "system",
                          f"{app_id} no longer wants the offered seat")
            else:
                self._log(self.record.stage, "left_waitlist", "system", app_id)

    async def _expire_offers(self) -> None:
        """docs/lottery.md "Offers": an offer not accepted by the end of its last day passes
        on; each parent is told before the next offer ends."""
        for offer in self.ledger.expire(workflow.now()):
            app_id = offer.application_id
            why = f"not accepted by the end of {offer.last_day.isoformat()}; passed on"
            seq = self._log(self.record.stage, "offer_expired", "system", f"{app_id}: {why}")
            await self._tell([(app_id, self._news(LotteryOutcome.offer_expired, seq, reason=why))])

    async def _fill(self) -> None:
        """docs/lottery.md "Offers": every free seat to the next in line; each parent is told
        before the next offer is made."""
        for offer in self.ledger.fill(workflow.now):
            nxt, key, last_day = offer.application_id, offer.key, offer.last_day
            seq = self._log(self.record.stage, "seat_offered", "system",
                            f"{nxt}: {key.describe()} through {last_day.isoformat()}")
            await self._tell(
                [(nxt, self._news(LotteryOutcome.offered, seq, offer_deadline=last_day))]
            )

    # ---- checks (shared by validators and handlers) -------------------------------------


    def _window_open(self) -> bool:
        return (
            self.record.stage is LotteryStage.collecting
            and workflow.now() < self.inp.window_closes
        )

    def _setters(self) -> list[str]:
        """Who set the seats: the district file's seat setters, and whoever added some."""
        return [n for n in self.record.seats_set_by.split(", ") if n]

    def _run_is_full(self) -> bool:
        return (
            self.entered_this_run >= self.inp.applications_per_run
            or workflow.info().is_continue_as_new_suggested()
        )

    def _reopened(self) -> bool:
        """VIII.A.3: after option enrollment completes, until the first day of school (the
        window ``rules.within_windows.reopened_window`` gives, fixed in the input)."""
        inp = self.inp
        return (
            inp.reopens is not None
            and inp.ledger_closes is not None
            and self.record.stage is LotteryStage.certified
            and Window(opens=inp.reopens, closes=inp.ledger_closes).contains(workflow.now())
        )

    def _late_paper(self, applicant: Applicant) -> bool:
        """A paper form received before the close, entered after it while the draw is not
        certified and the entry period of the close lasts (docs/lottery.md "Paper forms after
        the close")."""
        inp, received = self.inp, applicant.received_at
        return (
            self.paper
            and received is not None
            and inp.paper_entry_closes is not None
            and received < self._in_person_closes()
            and self.record.stage in (LotteryStage.collecting, LotteryStage.preview)
            and self._paper_may_come()
        )

    def _in_person_closes(self) -> datetime:
        """When forms delivered in person close: 5:00 p.m. (VIII.A.2), or the one close of a
        lottery started before the two."""
        closes = self.inp.in_person_closes
        return closes if self.two_closes and closes is not None else self.inp.window_closes

    def _in_person_after_close(self, applicant: Applicant) -> bool:
        """An application delivered in person (a paper form, or any entry not signed by the
        parent on the portal) received at or after 5:00 p.m. while the window is still open
        online (VIII.A.2)."""
        if not self.two_closes or not self._window_open():
            return False
        received = applicant.received_at if self.paper else None
        if received is None and sent_by_parent():
            return False  # online: the parent's own application, on the portal
        return (received or workflow.now()) >= self._in_person_closes()

    def _check_paper(self, applicant: Applicant) -> None:
        """A paper form's received time, on the lottery's clock: not in the future, entered
        within the district's days of it, not before the window opened."""
        received, inp = applicant.received_at, self.inp
        if not self.paper or received is None or inp.paper_entry_days is None:
            return
        if inp.window_opens is not None and received < inp.window_opens:
            zone = calendar.ZoneInfo(inp.timezone)
            refuse(
                f"the form was received {received.astimezone(zone).isoformat()}, before "
                f"applications for {inp.school_year} opened at "
                f"{inp.window_opens.astimezone(zone).isoformat()} (VIII.A.1)"
            )
        try:
            check_received(received, workflow.now(), inp.paper_entry_days, inp.timezone)
        except PolicyError as error:
            refuse(str(error))

    def _check_enter(self, applicant: Applicant) -> None:
        self._check_paper(applicant)
        late = self._late_paper(applicant)
        if self._in_person_after_close(applicant):
            zone = calendar.ZoneInfo(self.inp.timezone)
            refuse(
                f"forms delivered in person for {self.inp.school_year} closed at "
                f"{self._in_person_closes().astimezone(zone).isoformat()} (VIII.A.2: "
                "\"received no later than 5:00 p.m.\"); a form received before then is "
                "entered with when and by whom it was received; parents may still apply "
                f"online, on the portal, until "
                f"{self.inp.window_closes.astimezone(zone).isoformat()}"
            )
        on_time = self._window_open() and (
            applicant.received_at is None or not self.paper
            or applicant.received_at < self._in_person_closes()
        )
        if not on_time and not late and not self._reopened():
            zone = calendar.ZoneInfo(self.inp.timezone)
            closes = self.inp.window_closes.astimezone(zone)
            again = ""
            if self.inp.reopens is not None:
                reopens = self.inp.reopens.astimezone(zone).isoformat()
                again = f"; it reopens at {reopens} (VIII.A.3)"
            channels = ""
            if self.two_closes:
                in_person = self._in_person_closes().astimezone(zone).isoformat()
                channels = f" online, and at {in_person} in person"
            refuse(
                f"applications for {self.inp.school_year} closed at {closes.isoformat()}"
                f"{channels} (VIII.A.2){again}"
            )
        if (on_time or late) and self.record.seat_map().get(applicant.seat_key, 0) <= 0:
            refuse(
                f"{applicant.seat_key.describe()} is not open to within-district transfers in "
                "this lottery (VII); seats set after it opened are added with "
                "`transfers lottery add-seats`"
            )
        if self._reopened():
            key = applicant.seat_key
            if key not in self.record.seat_map() or self.record.seat_map()[key] <= 0:
                refuse(f"{key.describe()} is not open to within-district transfers (VII)")
            try:
                tier_label(applicant, applicant.program)
            except NoTransferNeeded as error:
                refuse(str(error))
            if self.ledger.holds_or_is_offered(applicant.student_id):
                refuse(f"student {applicant.student_id} already holds or is offered a seat")
        if applicant.application_id in self.entered_ids:
            refuse(f"application {applicant.application_id} was already entered")
        for entry in [*self.record.applicants, *self.record.reopened]:
            other = entry.applicant
            if other.student_id == applicant.student_id and other.seat_key == applicant.seat_key:
                refuse(
                    f"student {applicant.student_id} already applied for "
                    f"{applicant.seat_key.describe()} (application {other.application_id})"
                )

    def _check_withdraw(self, application_id: str) -> RecordedApplicant:
        if not self._window_open():
            refuse("applications can be withdrawn from the lottery only before the draw")
        for entry in self.record.applicants:
            if entry.applicant.application_id == application_id:
                return entry
        refuse(f"no entered application {application_id} in this lottery")
        raise AssertionError("unreachable")

    def _check_certify(self, actor: Actor) -> None:
        # A second staff member certifies, not one who set the seats, by name
        # (docs/lottery.md "Certification").
        if actor.name in self._setters():
            refuse(
                f"{actor.name} set the seats and may not also certify the draw: a second "
                "staff member must"
            )
        authorize("lottery.certify", actor)
        if self.record.stage is LotteryStage.collecting:
            refuse("the draw has not run yet: the window is still open")
        if self.record.certified:
            refuse(f"the draw was already certified by {self.record.certified_by}")
        if self._paper_may_come():
            closes = self.inp.paper_entry_closes
            assert closes is not None
            zone = calendar.ZoneInfo(self.inp.timezone)
            refuse(
                f"paper forms received before the close may be entered until "
                f"{closes.astimezone(zone).isoformat()} ({self.inp.paper_entry_days} days "
                "after it: the district's paper_entry_days), and each redraws the preview: "
                "certify the draw after that, or, once every paper form received before the "
                "close is entered, say so (`lottery certify --all-paper-entered`)"
            )

    def _paper_may_come(self) -> bool:
        """Whether a paper form received before the close may still be entered."""
        closes = self.inp.paper_entry_closes
        return (self.paper and closes is not None and workflow.now() < closes
                and self.paper_closed_by is None)

    def _check_close_paper(self, actor: Actor) -> None:
        # Whoever may certify may say every paper form is in, before the draw is certified.
        if actor.name in self._setters():
            refuse(f"{actor.name} set the seats and may not close the paper forms' entry: "
                   "the certifier does")
        authorize("lottery.certify", actor)
        if self.record.stage is LotteryStage.collecting:
            refuse("the draw has not run yet: the window is still open")
        if self.record.certified:
            refuse(f"the draw was already certified by {self.record.certified_by}")

    def _check_offer(self, answer: OfferAnswer) -> Offer:
        authorize("lottery.answer_offer", answer.actor)
        try:
            return self.ledger.open_offer(answer.application_id, workflow.now())
        except PolicyError as error:  # the ledger's refusal reaches the caller as worded
            refuse(str(error))

    def _check_add_seats(self, action: AddSeats) -> None:
        authorize("lottery.add_seats", action.actor)
        if self.record.stage is LotteryStage.collecting:
            return  # before the draw a new school, program or grade may be opened (VII)
        if self.record.stage is not LotteryStage.certified:
            refuse("the draw awaits certification: seats can be added again once it is "
                   "certified")
        if action.key not in self.record.seat_map():
            refuse(f"{action.key.describe()} is not open to within-district transfers (VII)")

    # ---- updates ----------------------------------------------------------------------

    @checked_update(_check_enter)
    async def enter(self, applicant: Applicant) -> RecordedApplicant:
        self._check_enter(applicant)
        late = self._late_paper(applicant) and self.record.stage is LotteryStage.preview
        recorded = RecordedApplicant(
            applicant=applicant, tier=None,
            random_number=random_number(self.record.seed, applicant.student_id),
            entered_at=workflow.now(),
        )
        recorded.tier = recorded_tier(recorded)
        self.entered_ids.add(applicant.application_id)
        self.ledger.entered(applicant.application_id, applicant.student_id)
        self.entered_this_run += 1
        if not self._reopened():
            # Recorded with its tier, number and instant in ``applicants``; the request's own
            # audit trail has the entry too, so the lottery's history stays per lottery event.
            self.record.applicants.append(recorded)
            if late:  # after the draw: the preview is drawn again with it
                self._draw(late=applicant)
                await self._save()
            return recorded
        # VIII.A.3: first come, first served, behind those already waiting for the key.
        self.record.reopened.append(recorded)
        key, app_id = applicant.seat_key, applicant.application_id
        position = self.ledger.enter_reopened(app_id, key)
        if position is None:
            seq = self._log(self.record.stage, "reopened_placed", "system",
                            f"{app_id}: {key.describe()} (VIII.A.3)")
            news = self._news(LotteryOutcome.placed, seq)
        else:
            seq = self._log(self.record.stage, "reopened_waitlisted", "system",
                            f"{app_id}: position {position} for {key.describe()} (VIII.A.3)")
            news = self._news(LotteryOutcome.waitlisted, seq, waitlist_position=position)
        self._publish()
        self.changed = True
        await self._tell([(app_id, news)])
        return recorded

    @checked_update(_check_withdraw)
    async def withdraw(self, application_id: str) -> RecordedApplicant:
        found = self._check_withdraw(application_id)
        self.record.applicants.remove(found)
        self.record.withdrawn.append(found)
        self._log(
            self.record.stage, "application_withdrawn", "system",
            f"application {application_id} withdrawn",
        )
        return found

    @checked_update(_check_close_paper)
    async def close_paper(self, actor: Actor) -> LotteryRecord:
        """The certifier says every paper form received before the close is entered: no more
        are taken, and the draw may be certified before their entry period ends (docs/
        lottery.md "Paper forms after the close"). Nothing to do once the period is over."""
        self._check_close_paper(actor)
        if self._paper_may_come():
            self.paper_closed_by = actor.name
            self._log(
                self.record.stage, "paper_forms_closed", actor.name,
                "every paper form received before the close is entered, the certifier says; "
                "no more are taken",
            )
        return self.record

    @checked_update(_check_certify)
    async def certify(self, actor: Actor) -> LotteryRecord:
        self._check_certify(actor)
        self.record.certified = True
        self.record.certified_by = actor.name
        self.record.certified_at = workflow.now()
        # The result is released here; the parents' notices are a later step.
        self._log(
            LotteryStage.certified, "draw_certified", actor.name,
            f"seats set by {self.record.seats_set_by}; certified by {actor.name}",
        )
        return self.record

    @workflow.signal
    async def forfeit(self, application_id: str, proof: str = "") -> None:
        """A request no longer holds or wants its seat (withdrawn, denied, revoked): the
        request's or its permit's workflow says so, with its proof (``signals``)."""
        if not await self.inbox.believed("forfeit", application_id, proof):
            return
        if self.record.stage is LotteryStage.collecting:
            found = next(
                (e for e in self.record.applicants
                 if e.applicant.application_id == application_id), None,
            )
            if found is not None:
                self.record.applicants.remove(found)
                self.record.withdrawn.append(found)
                self._log(self.record.stage, "application_withdrawn", "system",
                          f"application {application_id} withdrawn")
            return
        self.ledger.forfeit(application_id)
        self.changed = True

    @workflow.signal
    async def ready(self, application_id: str, proof: str = "") -> None:
        """A request's workflow has started: tell it again what it may have missed."""
        if not await self.inbox.believed("ready", application_id, proof):
            return
        if application_id in self.last_news:
            self.resend.append(application_id)
            self.changed = True

    @checked_update(_check_offer)
    async def accept_offer(self, answer: OfferAnswer) -> Offer:
        return await self._answer(answer, self.ledger.accept, "offer_accepted",
                                  LotteryOutcome.placed)

    @checked_update(_check_offer)
    async def decline_offer(self, answer: OfferAnswer) -> Offer:
        return await self._answer(answer, self.ledger.decline, "offer_declined",
                                  LotteryOutcome.declined)

    async def _answer(self, answer: OfferAnswer, take: Callable[[str], object], event: str,
                      outcome: LotteryOutcome) -> Offer:
        """A parent's answer to an offer: the ledger takes it, the audit and the request hear."""
        offer = self._check_offer(answer)
        take(answer.application_id)
        seq = self._log(self.record.stage, event, answer.actor.name,
                        f"{answer.application_id}: {offer.key.describe()}")
        self._publish()
        self.changed = True
        await self._tell([(answer.application_id, self._news(outcome, seq))])
        return offer

    @checked_update(_check_add_seats)
    async def add_seats(self, action: AddSeats) -> list[SeatCount]:
        """VII: more seats, before the draw (the seats it will draw) or after it (offered to
        the next in line). Whoever adds seats has set seats: they may not certify."""
        self._check_add_seats(action)
        if action.actor.name not in self._setters():
            self.record.seats_set_by = ", ".join([*self._setters(), action.actor.name])
        self._log(self.record.stage, "seats_added", action.actor.name,
                  f"{action.seats} more in {action.key.describe()} (VII)")
        if self.record.stage is LotteryStage.collecting:
            seats = self.record.seat_map()
            seats[action.key] = seats.get(action.key, 0) + action.seats
            self.record.seats = [SeatCount(key=k, seats=n) for k, n in seats.items()]
            return self.record.seats
        self.ledger.add_seats(action.key, action.seats)
        self.changed = True
        self._publish()
        return self.record.seats_left

    @workflow.query
    def result(self) -> LotteryRecord:
        """The record as published: until the draw, its seed sealed."""
        return self.record.published()

    @workflow.query
    def rehearse(self) -> LotteryRecord:
        """A practice draw over the applications entered so far, with the lottery's seed:
        what the draw would give if the window closed now. Changes nothing; the seed stays
        sealed."""
        practice = self.record.model_copy(deep=True)
        practice.result = draw(
            [e.applicant for e in practice.applicants],
            practice.seat_map(),
            practice.seed,
            frozenset(practice.overcrowded_schools),
        )
        return practice.published()

    @workflow.query
    def waitlist_position(self, application_id: str) -> int | None:
        """The application's place in line now (1 is offered the next seat)."""
        return self.ledger.position(application_id)

    # ---- effects ------------------------------------------------------------------------

    def _news_of(self, entry: LotteryEntry, seq: int) -> LotteryNews:
        outcome = LotteryOutcome(entry.outcome.value)
        return self._news(
            outcome, seq, waitlist_position=entry.waitlist_position, reason=entry.reason
        )

    def _news(self, outcome: LotteryOutcome, seq: int, **more: Any) -> LotteryNews:
        return LotteryNews(outcome=outcome, lottery_id=self.record.id, seq=seq, **more)

    async def _tell(self, news: list[tuple[str, LotteryNews]]) -> None:
        """Signal the requests, a batch per workflow task. A request that is not running
        (entered directly, or ended) has nothing to be told."""

        for app_id, item in news:
            self.last_news[app_id] = item

        async def one(app_id: str, item: LotteryNews, proof: str | None) -> None:
            try:
                await workflow.get_external_workflow_handle(app_id).signal(
                    "lottery_news", args=signals.arguments(item, proof))
            except FailureError as error:
                workflow.logger.info("request %s not told: %s", app_id, error)

        for start in range(0, len(news), NEWS_BATCH):
            batch = news[start : start + NEWS_BATCH]
            proofs = await signals.proofs_for(
                [(app_id, "lottery_news", item) for app_id, item in batch])
            await asyncio.gather(*(one(app_id, item, proof)
                                   for (app_id, item), proof in zip(batch, proofs, strict=True)))

    def _publish(self) -> None:
        """Copy the ledger into the record the ``result`` query returns."""
        self.record.seats_left = self.ledger.seats_left()
        self.record.waitlists = self.ledger.waitlists()
        self.record.offers = self.ledger.open_offers()
        self.record.holders = self.ledger.holder_ids()

    async def _save(self) -> None:
        """Write the record to the records store when it changed since the last write."""
        if len(self.record.history) == self.saved_version:
            return
        self.saved_version = len(self.record.history)
        await record(RecordActivities.record_lottery, self.record)

    def _log(self, stage: LotteryStage, event: str, actor: str, reason: str = "") -> int:
        return audit.append(
            self.record, self.record.history, LotteryEvent, stage, event, actor, reason,
            attributes=self.attributes,
            # While the window is open, its close is what the lottery waits on (VIII.A.2).
            due=lambda: self.record.window_closes if stage is LotteryStage.collecting else None,
        )

    async def _escalate(self, sequence: str, seq: int, what: str, detail: str) -> None:
        facts: dict[str, Any] = {
            "request_id": self.record.id,
            "what": what,
            "detail": detail,
            "direction_text": f"within-district lottery, {self.inp.district_id}",
            "school_year": self.inp.school_year,
            "stage": self.record.stage.value,
            "event_seq": seq,
        }
        notice = Notice(
            key=f"{self.record.id}:{NoticeKind.staff_escalation.value}:{sequence}",
            request_id=self.record.id,
            kind=NoticeKind.staff_escalation,
            sender=self.inp.notices_from,
            to=list(self.inp.staff_notices_to),
            facts=facts,
        )
        await self.notices.send(notice)

    # ---- helpers ------------------------------------------------------------------------

