"""An approved transfer's permit, for as many school years as it lives (seed 000 "What is an
interdistrict attendance permit?" and "... rescinded, or revoked"; seed 004 IV;
docs/permits.md "One workflow per permit").

One run per school year, continuing-as-new on June 30 so the history stays one year long
however many years the permit lives. In a year:

- a permit renewed each year tells the parent when renewals open (January 15, seed 000) and
  lapses, with a notice, if it is not renewed by the district's deadline;
- in the level's last grade, the parent is told ahead (also on January 15) that the permit ends
  with the level and a new request is needed (matriculation, seed 000; IV.D, seed 004);
- on June 30 the grade advances with the school year, or the permit ends with the level.

Staff record what happens with Updates: ``revoke`` (one of the seed's reasons; never, for an
interdistrict permit, after June 30 following grade 10, EC 46600; not appealable),
``moved`` (a new district of residence ends it; a move inside the district lets the student
finish the year, IV.B), ``transfer`` (another school needs a new request), ``renew``,
``leave_program`` (IV.A: the home school again). Started by the request's workflow as a child
that outlives it (ABANDON).
"""

from __future__ import annotations

import asyncio
from datetime import date, time
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from workflows.common import audit, seat_news, versions
from workflows.common.notify import NoticesUnderway
from workflows.common.updates import checked_update
from workflows.common.waiting import authorize, record, refuse, today_in, wait_until

with workflow.unsafe.imports_passed_through():
    import rules.calendar as calendar
    from activities.records import RecordActivities
    from models.notices import Notice, NoticeKind
    from models.people import Actor
    from models.permits import (
        AppealRevocation,
        Endorse,
        Moved,
        PermitCondition,
        PermitEvent,
        PermitInput,
        PermitProcess,
        PermitStage,
        PermitState,
        Renew,
        RevocationReason,
        Revoke,
        TransferElsewhere,
    )
    from rules import agreements as agreement_rules
    from rules import permits as rules
    from rules.errors import PolicyError
    from rules.revocation import NOT_APPEALABLE, check_may_revoke
    from workflows.common import attributes

NOTICE_CLOCK = time(8, 0)  # parents' yearly notices go out at 8 a.m. local time
REASON_TEXT = {
    RevocationReason.academic_effort: "the student repeatedly failed to make appropriate "
    "academic efforts",
    RevocationReason.attendance: "the student repeatedly failed to abide by school, district "
    "and state attendance policies",
    RevocationReason.behavior: "the student repeatedly failed to uphold appropriate behavior "
    "standards",
    RevocationReason.false_information: "false or misleading information was provided",
    RevocationReason.continuance_inadvisable: "other conditions render continuance inadvisable",
}


def permit_id(request_id: str) -> str:
    """The permit's number on the approval notice, and its workflow's id."""
    return f"PERMIT-{request_id}"


@workflow.defn(name="Permit")
class PermitWorkflow:
    @workflow.init
    def __init__(self, inp: PermitInput) -> None:
        self.state = inp.state
        self.policy = inp.policy
        self.ends_at_year_end: str | None = None  # IV.B: a move inside the district
        self.notices = NoticesUnderway()  # the notices of staff actions, on their way
        self.attributes = attributes.Publisher(
            self.state.district, self.state.school_year, self.policy.timezone
        )

    # ---- the school year ----------------------------------------------------------------

    @workflow.run
    async def run(self, inp: PermitInput) -> PermitState:
        state = self.state
        if state.years == 1 and not state.events:
            await self._enter(self._standing(), "issued", "system", self._condition_text())
        elif not state.events and versions.patched("permit-yearly-record"):
            # Each school year's run writes its record at once: the records store (`permit
            # show`, `permit list --school-year`) shows this year and grade from July 1 on,
            # not the last year's until something happens (issue "Policy fidelity").
            await self._enter(state.stage, "school_year_began", "system",
                              f"grade {state.grade} in {state.school_year}")
        year_end = calendar.end_of_day(rules.school_year_end(state.school_year), self._tz)
        if state.awaits_endorsement and state.is_active:
            # Beside the year, which it does not hold up (EC 46600(a)(3)).
            self.endorsement_clock = asyncio.create_task(self._endorsement_clock())
        if state.is_active:
            await self._spring()
        if state.is_active:
            await wait_until(lambda: not self.state.is_active, year_end)
        if state.is_active:
            await self._year_end()
        if not state.is_active:
            # Ended: it stays queryable, and refuses what comes late (an appeal of the
            # revocation, a second move), until the school year is over.
            await workflow.sleep(max(0.0, (year_end - workflow.now()).total_seconds()))
            await workflow.wait_condition(workflow.all_handlers_finished)
            await self.notices.settled()
            return state
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self.notices.settled()
        workflow.continue_as_new(PermitInput(state=self._carried(), policy=self.policy))

    async def _spring(self) -> None:
        """January 15: renewals open (reapply annually), or the level's end is near."""
        state = self.state
        first, last = self._renewal_window()
        opens = calendar.at_local(first, NOTICE_CLOCK, self._tz)
        last_grade = state.grade >= state.level_last_grade
        renews = state.condition is PermitCondition.reapply_annually and not last_grade
        if not (renews or last_grade) or workflow.now() > calendar.end_of_day(last, self._tz):
            return
        if await wait_until(lambda: not self.state.is_active, opens):
            return
        if last_grade:
            await self._enter(
                state.stage, "level_ending_notified", "system",
                f"grade {state.grade} is the level's last: the permit ends on "
                f"{rules.school_year_end(state.school_year).isoformat()}",
            )
            await self._notify(NoticeKind.permit_level_ending)
            return
        following = rules.next_school_year(state.school_year)
        if state.renewed_for == following:
            return
        await self._enter(PermitStage.renewal_due, "renewal_opened", "system",
                          f"renew for {following} by {last.isoformat()}")
        await self._notify(NoticeKind.permit_renewal_open, deadline=calendar.long_date(last))
        renewed = await wait_until(
            lambda: self.state.renewed_for == following or not self.state.is_active,
            calendar.end_of_day(last, self._tz),
        )
        if not renewed:
            state.ended_on = today_in(self._tz)
            state.reason = f"not renewed for {following} by {calendar.long_date(last)}"
            await self._enter(PermitStage.lapsed, "lapsed", "system", state.reason)
            await self._notify(NoticeKind.permit_lapsed)

    async def _year_end(self) -> None:
        state = self.state
        if state.grade >= state.level_last_grade:
            state.ended_on = rules.school_year_end(state.school_year)
            state.reason = "the educational level ended; the next level needs a new request"
            await self._enter(PermitStage.level_completed, "level_completed", "system",
                              state.reason)
            await self._notify(NoticeKind.permit_ended)
        elif self.ends_at_year_end:
            state.ended_on = rules.school_year_end(state.school_year)
            state.reason = self.ends_at_year_end
            await self._enter(PermitStage.moved, "moved_year_finished", "system", state.reason)
            await self._notify(NoticeKind.permit_ended)

    def _carried(self) -> PermitState:
        """The next school year: one grade up, a fresh year of events."""
        state = self.state.model_copy(deep=True)
        state.school_year = rules.next_school_year(state.school_year)
        state.grade += 1
        state.years += 1
        state.events = []
        state.stage = self._standing()
        return state

    def _standing(self) -> PermitStage:
        """A permit in force: active, or awaiting the district of enrollment's endorsement
        (EC 46600(a)(3))."""
        if self.state.awaits_endorsement:
            return PermitStage.awaiting_endorsement
        return PermitStage.active

    async def _endorsement_clock(self) -> None:
        """EC 46600(a)(3): staff are reminded at 8 a.m. on the reminder day, and told when
        the due day ends without the endorsement; the permit keeps waiting for it. A day
        already past when a school year's run begins was told in an earlier run."""
        state = self.state
        due = state.endorsement_due
        assert due is not None

        def settled() -> bool:
            return not self.state.awaits_endorsement or not self.state.is_active

        remind = calendar.at_local(
            agreement_rules.endorsement_reminder_day(
                due, self.policy.endorsement_reminder_days_before),
            NOTICE_CLOCK, self._tz,
        )
        if workflow.now() < remind:
            if await wait_until(settled, remind):
                return
            await self._enter(state.stage, "endorsement_reminder", "system",
                              f"staff reminded: the endorsement of {state.school_name} is due "
                              f"{due.isoformat()}")
            await self._notify_staff(NoticeKind.staff_endorsement_reminder, "reminder")
        overdue = calendar.end_of_day(due, self._tz)
        if workflow.now() >= overdue or await wait_until(settled, overdue):
            return
        seq = len(state.events) + 1
        await self._enter(state.stage, "endorsement_overdue", "system",
                          f"the endorsement of {state.school_name} was due {due.isoformat()}")
        await self._notify_staff(NoticeKind.staff_endorsement_reminder, f"overdue-{seq}",
                                 overdue=True)

    # ---- checks -------------------------------------------------------------------------

    def _check_active(self, actor: Actor) -> None:
        authorize("permit.act", actor)
        if not self.state.is_active:
            refuse(f"permit {self.state.id} has ended ({self.state.stage.value})")

    def _check_revoke(self, action: Revoke) -> None:
        self._check_active(action.actor)
        authorize("permit.revoke", action.actor)
        if not action.reasons:
            refuse("a revocation must cite at least one of the seed's reasons")
        if self.state.process is PermitProcess.interdistrict:
            try:
                check_may_revoke(
                    self.state.grade, rules.school_year_end(self.state.school_year),
                    today_in(self._tz), [r.value for r in action.reasons],
                )
                if self.state.revocation_reasons is not None:  # the agreement's terms
                    agreement_rules.check_revocation_terms(
                        self.state.agreement, [r.value for r in self.state.revocation_reasons],
                        [r.value for r in action.reasons],
                    )
            except PolicyError as error:
                raise ApplicationError(str(error), type="PolicyError",
                                       non_retryable=True) from error

    def _check_endorse(self, action: Endorse) -> date:
        self._check_active(action.actor)
        state = self.state
        if state.endorsement_due is None:
            refuse(f"permit {state.id} needs no endorsement: only a permit out of the district "
                   "is endorsed by the district of enrollment (EC 46600(a)(3))")
        if state.endorsed_on is not None:
            refuse(f"permit {state.id} was endorsed on {state.endorsed_on.isoformat()}")
        today = today_in(self._tz)
        endorsed_on = action.on or today
        try:
            agreement_rules.check_endorsement_date(endorsed_on, state.issued_on or endorsed_on,
                                                   today)
        except PolicyError as error:
            refuse(str(error))
        return endorsed_on

    def _check_leave(self, action: Revoke) -> None:
        self._check_active(action.actor)
        if self.state.process is not PermitProcess.within_district or (
            self.state.program == "regular"
        ):
            refuse("IV.A applies to a within-district transfer for a special program")

    def _check_renew(self, action: Renew) -> None:
        self._check_active(action.actor)
        if self.state.condition is not PermitCondition.reapply_annually:
            refuse(f"permit {self.state.id} holds without renewal "
                   f"({self.state.condition.value})")
        try:
            rules.check_renewal(self.state.school_year, action.school_year)
        except PolicyError as error:
            refuse(str(error))

    # ---- updates ------------------------------------------------------------------------

    @checked_update(_check_revoke)
    async def revoke(self, action: Revoke) -> PermitState:
        self._check_revoke(action)
        why = "; ".join(REASON_TEXT[r] for r in action.reasons) or action.note
        await self._end(PermitStage.revoked, "revoked", action.actor, why)
        return self.state

    @checked_update(_check_leave)
    async def leave_program(self, action: Revoke) -> PermitState:
        """IV.A: withdrawing from the special program the transfer was for revokes it."""
        self._check_leave(action)
        home = self.state.home_school
        why = (f"withdrew from the {self.state.program} program: reassigned to {home}, the "
               "school the student would have attended (IV.A)")
        self.state.school = home
        await self._end(PermitStage.revoked, "left_program", action.actor, why)
        return self.state

    @checked_update(_check_renew)
    async def renew(self, action: Renew) -> PermitState:
        self._check_renew(action)
        self.state.renewed_for = action.school_year
        await self._enter(self._standing(), "renewed", action.actor.name,
                          f"renewed for {action.school_year}")
        return self.state

    @checked_update(_check_endorse)
    async def endorse(self, action: Endorse) -> PermitState:
        """EC 46600(a)(3): the district of enrollment endorsed the permit; it is valid."""
        endorsed_on = self._check_endorse(action)
        state = self.state
        state.endorsed_on, state.endorsed_by = endorsed_on, action.actor.name
        stage = PermitStage.active if state.stage is PermitStage.awaiting_endorsement \
            else state.stage
        await self._enter(stage, "endorsed", action.actor.name,
                          action.note or f"{state.school_name}, the district of enrollment, "
                          f"endorsed the permit on {endorsed_on.isoformat()} (EC 46600(a)(3))")
        return self.state

    @checked_update(lambda self, action: self._check_active(action.actor))
    async def moved(self, action: Moved) -> PermitState:
        self._check_active(action.actor)
        state = self.state
        if action.new_district:  # seed 000: the new district of residence must grant one
            why = (f"the family moved to {action.new_district}, the new district of "
                   "residence, which must grant its own permit")
            await self._end(PermitStage.moved, "moved_away", action.actor, why)
        elif state.process is PermitProcess.within_district:  # IV.B
            self.ends_at_year_end = (
                "the family moved within the district: the student finishes the school year "
                "here and attends the assigned school from the next one (IV.B); a new request "
                "keeps the student here to complete the level"
            )
            await self._enter(state.stage, "moved_within", action.actor.name,
                              self.ends_at_year_end)
        else:  # same district of residence: the permit still holds
            await self._enter(state.stage, "moved_same_district", action.actor.name,
                              "moved within the district of residence: the permit holds")
        return self.state

    @checked_update(lambda self, action: self._check_active(action.actor))
    async def transfer(self, action: TransferElsewhere) -> PermitState:
        self._check_active(action.actor)
        why = (f"the student transfers to {action.school}, another school of the district of "
               "enrollment: that needs a new request")
        await self._end(PermitStage.transferred, "transferred", action.actor, why)
        return self.state

    @checked_update(lambda self, action: refuse(NOT_APPEALABLE))
    def appeal_revocation(self, action: AppealRevocation) -> None:
        refuse(NOT_APPEALABLE)

    @workflow.query
    def status(self) -> PermitState:
        return self.state

    # ---- effects ------------------------------------------------------------------------

    async def _end(self, stage: PermitStage, event: str, actor: Actor, why: str) -> None:
        self.state.ended_on = today_in(self._tz)
        self.state.reason = why
        await self._enter(stage, event, actor.name, why)
        # A permit from the lottery gives its seat back to the next in line.
        await seat_news.seat_free(self.state.lottery_id or None, self.state.request_id)
        # A staff action's notice: scheduled, not waited for (see `NoticesUnderway`).
        await self._notify(NoticeKind.permit_revoked if stage is PermitStage.revoked
                           else NoticeKind.permit_ended, wait=False)

    async def _enter(self, stage: PermitStage, event: str, actor: str, reason: str = "") -> None:
        audit.append(
            self.state, self.state.events, PermitEvent, stage, event, actor, reason,
            attributes=self.attributes,
            # A permit waits on a date only while its renewal is due (the renewal's last day)
            # or its endorsement (the day it is expected).
            due=lambda: self._renewal_window()[1] if stage is PermitStage.renewal_due
            else self.state.endorsement_due if stage is PermitStage.awaiting_endorsement
            else None,
        )
        await record(RecordActivities.record_permit, self.state)

    async def _notify(self, kind: NoticeKind, wait: bool = True, **facts: Any) -> None:
        state = self.state
        notice = Notice(
            key=f"{state.id}:{kind.value}:{state.school_year}:{len(state.events)}",
            request_id=state.request_id,
            kind=kind,
            sender=self.policy.notices_from,
            to=[state.holder.parent_email],
            language=state.holder.language,
            staff=list(self.policy.staff_notices_to),
            facts={
                "request_id": state.request_id,
                "permit_id": state.id,
                "district_name": self.policy.district_name,
                "contact": self.policy.contact,
                "student_name": state.holder.student_name,
                "parent_name": state.holder.parent_name,
                "school_year": state.school_year,
                "next_school_year": rules.next_school_year(state.school_year),
                "school": state.school_name,
                "grade": state.grade,
                "stage": state.stage.value,
                "reason": state.reason,
                "ended_on": calendar.long_date(state.ended_on) if state.ended_on else "",
                "level_ends": calendar.long_date(rules.school_year_end(state.school_year)),
                **facts,
            },
        )
        await self.notices.send(notice, wait=wait)

    async def _notify_staff(self, kind: NoticeKind, sequence: str, **facts: Any) -> None:
        """A notice to the district's staff, in English."""
        state = self.state
        due = state.endorsement_due
        notice = Notice(
            key=f"{state.id}:{kind.value}:{sequence}",
            request_id=state.request_id,
            kind=kind,
            sender=self.policy.notices_from,
            to=list(self.policy.staff_notices_to),
            language="en",
            staff=list(self.policy.staff_notices_to),
            facts={
                "request_id": state.request_id,
                "permit_id": state.id,
                "district_name": self.policy.district_name,
                "student_name": state.holder.student_name,
                "school_year": state.school_year,
                "other_district": state.school_name,
                "stage": state.stage.value,
                "endorsement_due": calendar.long_date(due) if due else "",
                "overdue": False,
                **facts,
            },
        )
        await self.notices.send(notice)

    # ---- helpers ------------------------------------------------------------------------

    @property
    def _tz(self) -> str:
        return self.policy.timezone

    def _renewal_window(self) -> tuple[date, date]:
        """The first and last days to reapply for the next school year (seed 000)."""
        return rules.renewal_window(
            self.state.school_year,
            (self.policy.renewal_opens_month, self.policy.renewal_opens_day),
            (self.policy.renewal_deadline_month, self.policy.renewal_deadline_day),
        )

    def _condition_text(self) -> str:
        if self.state.condition is PermitCondition.reapply_annually:
            return "renewed each school year"
        return f"holds until the level ends after grade {self.state.level_last_grade}"

