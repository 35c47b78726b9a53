"""The next-year within-district lottery (seed 004, Rule 5110.1 VIII; DESIGN.md "The
within-district transfer process"): one workflow per district and school year.

It collects applications while the window is open (Updates ``enter`` and ``withdraw``), wakes
at the window's close on a durable timer and draws a preview, which only a second staff member
with the certifier role, not the one who set the seats, may certify. An uncertified draw is
escalated to staff every morning from N days before the notification deadline. The query
``result`` returns the record anyone can re-run the draw from (``rules.lottery_audit.verify``).
"""

from __future__ import annotations

from datetime import date, time, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

from workflows.waiting import refuse, wait_until

with workflow.unsafe.imports_passed_through():
    import rules.calendar as calendar
    from models.lottery_record import (
        LotteryEvent,
        LotteryInput,
        LotteryRecord,
        LotteryStage,
        RecordedApplicant,
        SeatCount,
    )
    from models.notices import Notice, NoticeKind
    from models.people import Actor
    from models.within_district import Applicant
    from models.within_district_config import ROLE_LOTTERY_CERTIFIER, WithinDistrictConfig
    from rules.errors import PolicyError
    from rules.lottery import draw, random_number
    from rules.lottery_audit import recorded_tier, verify
    from rules.within_windows import next_year_window

__all__ = ["LotteryWorkflow", "lottery_id", "lottery_input", "verify"]

NOTICE_TIMEOUT = timedelta(minutes=2)
RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=10))
ESCALATION_CLOCK = time(8, 0)  # staff escalations go out at 8 a.m. local time


def lottery_id(district_id: str, school_year: str) -> str:
    return f"lottery-{district_id}-{school_year}"


def lottery_input(
    config: WithinDistrictConfig, school_year: str, seats_set_by: str, seed: str | None = None
) -> LotteryInput:
    """The policy snapshot for one district's lottery for ``school_year`` (VII, VIII, X.B)."""
    settings = config.within_district
    window = next_year_window(
        school_year, config.timezone,
        opens_month=settings.next_year_opens_month, opens_day=settings.next_year_opens_day,
        closes_month=settings.next_year_closes_month, closes_day=settings.next_year_closes_day,
        closes_at=settings.next_year_closes_time,
    )
    notify_by = date(window.closes.year, settings.notify_by_month, settings.notify_by_day)
    return LotteryInput(
        id=lottery_id(config.id, school_year),
        district_id=config.id,
        school_year=school_year,
        timezone=config.timezone,
        window_closes=window.closes,
        notify_by=notify_by,
        escalation_days_before=settings.certification_escalation_days_before,
        seats=[SeatCount(key=k, seats=n) for k, n in config.seats_for(school_year).items()],
        seats_set_by=seats_set_by,
        overcrowded_schools=sorted(config.overcrowded_schools()),
        notices_from=str(config.notices_from),
        staff_notices_to=[str(a) for a in config.staff_notices_to],
        seed=seed,
    )


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
        self.entered_ids: set[str] = set()  # every application id ever entered

    # ---- the stages -------------------------------------------------------------------

    @workflow.run
    async def run(self, inp: LotteryInput) -> LotteryRecord:
        await self._enter(
            LotteryStage.collecting, "lottery_opened", "system",
            f"applications until {inp.window_closes.isoformat()} (VIII.A.2)",
        )
        remaining = (inp.window_closes - workflow.now()).total_seconds()
        if remaining > 0:
            await workflow.sleep(remaining)  # durable: wakes at the close, 5:00 p.m. excluded
        await self._draw()
        await self._await_certification()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.record

    async def _draw(self) -> None:
        """VIII.B: the draw is a preview; no parent is told until it is certified."""
        self.record.result = draw(
            [e.applicant for e in self.record.applicants],
            self.record.seat_map(),
            self.record.seed,
            frozenset(self.record.overcrowded_schools),
        )
        self.record.drawn_at = workflow.now()
        result = self.record.result
        placed = sum(1 for e in result.entries if e.outcome.value == "placed")
        await self._enter(
            LotteryStage.preview, "draw_previewed", "system",
            f"{len(result.entries)} applications, {placed} placed; awaiting certification",
        )

    async def _await_certification(self) -> None:
        """Escalate every morning from N days before the notification deadline until it is
        certified; past the deadline keep waiting (the escalations said so)."""
        first = self.inp.notify_by - timedelta(days=self.inp.escalation_days_before)
        day = max(first, self._today())
        while day <= self.inp.notify_by and not self.record.certified:
            instant = calendar.at_local(day, ESCALATION_CLOCK, self.inp.timezone)
            if instant < workflow.now():
                day += timedelta(days=1)
                continue
            if await wait_until(lambda: self.record.certified, instant):
                break
            seq = await self._enter(
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

    # ---- updates ----------------------------------------------------------------------

    @workflow.update
    async def enter(self, applicant: Applicant) -> RecordedApplicant:
        self._check_enter(applicant)
        recorded = RecordedApplicant(
            applicant=applicant, tier=None,
            random_number=random_number(self.record.seed, applicant.student_id),
            entered_at=workflow.now(),
        )
        recorded.tier = recorded_tier(recorded)
        self.record.applicants.append(recorded)
        self.entered_ids.add(applicant.application_id)
        await self._enter(
            self.record.stage, "application_entered", "system",
            f"application {applicant.application_id} for {applicant.seat_key.describe()}",
        )
        return recorded

    @enter.validator
    def _validate_enter(self, applicant: Applicant) -> None:
        self._check_enter(applicant)

    @workflow.update
    async def withdraw(self, application_id: str) -> RecordedApplicant:
        found = self._check_withdraw(application_id)
        self.record.applicants.remove(found)
        self.record.withdrawn.append(found)
        await self._enter(
            self.record.stage, "application_withdrawn", "system",
            f"application {application_id} withdrawn",
        )
        return found

    @withdraw.validator
    def _validate_withdraw(self, application_id: str) -> None:
        self._check_withdraw(application_id)

    @workflow.update
    async def certify(self, actor: Actor) -> LotteryRecord:
        self._check_certify(actor)
        self.record.certified = True
        self.record.certified_by = actor.name
        self.record.certified_at = workflow.now()
        # The result is released here; the parents' notices are a later step.
        await self._enter(
            LotteryStage.certified, "draw_certified", actor.name,
            f"seats set by {self.inp.seats_set_by}; certified by {actor.name}",
        )
        return self.record

    @certify.validator
    def _validate_certify(self, actor: Actor) -> None:
        self._check_certify(actor)

    @workflow.query
    def result(self) -> LotteryRecord:
        return self.record

    # ---- checks (shared by validators and handlers) -------------------------------------


    def _window_open(self) -> bool:
        return (
            self.record.stage is LotteryStage.collecting
            and workflow.now() < self.inp.window_closes
        )

    def _check_enter(self, applicant: Applicant) -> None:
        if not self._window_open():
            closes = self.inp.window_closes.astimezone(calendar.ZoneInfo(self.inp.timezone))
            refuse(
                f"applications for {self.inp.school_year} closed at {closes.isoformat()} "
                "(VIII.A.2)"
            )
        if applicant.application_id in self.entered_ids:
            refuse(f"application {applicant.application_id} was already entered")
        for entry in self.record.applicants:
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
        try:
            if ROLE_LOTTERY_CERTIFIER not in actor.roles:
                have = ", ".join(actor.roles) or "no role"
                raise PolicyError(
                    f"{actor.name} ({have}) may not certify the draw: needs "
                    f"{ROLE_LOTTERY_CERTIFIER}"
                )
            if actor.name == self.inp.seats_set_by:
                raise PolicyError(
                    f"{actor.name} set the seats and may not also certify the draw: a second "
                    "staff member must"
                )
            if self.record.stage is LotteryStage.collecting:
                raise PolicyError("the draw has not run yet: the window is still open")
            if self.record.certified:
                raise PolicyError(f"the draw was already certified by {self.record.certified_by}")
        except PolicyError as error:
            raise ApplicationError(str(error), type="PolicyError", non_retryable=True) from error

    # ---- effects ------------------------------------------------------------------------

    async def _enter(self, stage: LotteryStage, event: str, actor: str, reason: str = "") -> int:
        """Change stage (or stay) and append the audit entry. The entries live in the record
        (the ``result`` query); the records store's ``record_event`` activity takes a permit
        request's state, so the lottery's trail is not written there yet."""
        self.record.stage = stage
        seq = len(self.record.history) + 1
        self.record.history.append(
            LotteryEvent(
                seq=seq, at=workflow.now(), stage=stage, event=event, actor=actor, reason=reason
            )
        )
        return seq

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
        await workflow.execute_activity(
            "send_notice", notice, start_to_close_timeout=NOTICE_TIMEOUT, retry_policy=RETRY
        )

    # ---- helpers ------------------------------------------------------------------------

    def _today(self) -> date:
        return calendar.local_date(workflow.now(), self.inp.timezone)

