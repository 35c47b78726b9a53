"""One student's within-district transfer request (seed 004, Rule 5110.1), from the form to the
end of the placement (docs/within-district.md "Stages of a request").

The stages, in the policy's order:

1. Received: a receipt goes to the parent at once (eligibility was checked at submission).
2. Recommendations (III.A, III.C, III.D): an extensive disciplinary record, special education
   and EL services each need a recommendation from one role before a decision. A recommendation
   against the transfer denies it (with its reasoning in the notice); the transfer's seat, if
   the draw gave one, passes to the next in line.
3. The decision. Next year (VIII) and the reopened window (VIII.A.3): the lottery workflow of the
   district and school year decides and tells this workflow by the ``lottery_news`` Signal once
   its draw is certified (placed, waitlisted with position, denied), then about offers (offered
   with a deadline, expired, declined). Current year (IX): the superintendent's designee decides
   by the ``decide`` Update, writing down the four IX.B factors.
4. A placement issues the permit (``workflows/permit.py``, a child that outlives the request):
   it holds for the educational level (IV.D), through the school years, and leaving the
   special program revokes it and reassigns the home school (IV.A). The request ends there.

Whatever frees a seat (a withdrawal, a denial after a recommendation, a revoked permit) is
sent to the lottery as the ``forfeit`` Signal so the next in line gets an offer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from workflows.common import audit, permits, seat_news, signals, versions
from workflows.common.notify import NoticesUnderway, request_facts
from workflows.common.updates import checked_update
from workflows.common.waiting import authorize, record, refuse
from workflows.permit import permit_id

with workflow.unsafe.imports_passed_through():
    import rules.calendar as calendar
    from activities.records import RecordActivities
    from models.notices import Notice, NoticeKind
    from models.permits import (
        PermitCondition,
        PermitProcess,
        PermitState,
    )
    from models.within_request import (
        DecideWithin,
        LotteryNews,
        LotteryOutcome,
        Recommend,
        Recommendation,
        RecommendationKind,
        WithdrawWithin,
        WithinHistoryEntry,
        WithinKind,
        WithinRequestInput,
        WithinRequestState,
        WithinStage,
    )
    from rules import within_eligibility, within_windows
    from rules.errors import PolicyError
    from workflows.common import attributes

FLAG_KIND = {
    within_eligibility.FLAG_EXTENSIVE_RECORD: RecommendationKind.discipline,
    within_eligibility.FLAG_SPECIAL_EDUCATION: RecommendationKind.special_education,
    within_eligibility.FLAG_ENGLISH_LEARNER: RecommendationKind.english_learner,
}
NEWS_STAGE = {
    LotteryOutcome.placed: WithinStage.placed,
    LotteryOutcome.waitlisted: WithinStage.waitlisted,
    LotteryOutcome.denied: WithinStage.denied,
    LotteryOutcome.offered: WithinStage.offered,
    LotteryOutcome.offer_expired: WithinStage.offer_expired,
    LotteryOutcome.declined: WithinStage.declined,
}
NEWS_NOTICE = {
    LotteryOutcome.placed: NoticeKind.within_placed,
    LotteryOutcome.waitlisted: NoticeKind.within_waitlisted,
    LotteryOutcome.denied: NoticeKind.within_denied,
    LotteryOutcome.offered: NoticeKind.within_offer,
    LotteryOutcome.offer_expired: NoticeKind.within_offer_expired,
    LotteryOutcome.declined: NoticeKind.within_declined,
}


@workflow.defn(name="WithinDistrictTransferRequest")
class WithinRequestWorkflow:
    @workflow.init
    def __init__(self, inp: WithinRequestInput) -> None:
        self.inp = inp
        self.policy = inp.policy
        self.notices = NoticesUnderway()  # the notices of staff actions, on their way
        student = inp.request.student
        flags = within_eligibility.review_flags(
            extensive_record=student.extensive_disciplinary_record,
            special_education=student.special_education,
            english_learner=student.english_learner,
        )
        now = workflow.now()
        # When it counts as received: a paper form's received time, or the lottery's clock
        # when it entered the application; else now (docs/cross-cutting.md "One clock for
        # intake").
        # Received when the server started the run, not when a worker first ran it: a
        # worker that starts late does not move a 4:59 p.m. submission past 5:00 p.m.
        started = (workflow.info().workflow_start_time
                   if versions.patched("received-at-start") else now)
        received = inp.received_at or started
        self.refusal = self._admission(inp, received, now)
        self.state = WithinRequestState(
            id=inp.id,
            request=inp.request,
            kind=inp.kind,
            timezone=inp.policy.timezone,
            received_at=received,
            received_by=inp.received_by,
            entered_at=now if inp.received_by else None,
            lottery_id=inp.lottery_id,
            flags=[FLAG_KIND[f] for f in flags],
            level_ends=inp.level_ends,
        )
        self.news: list[LotteryNews] = []
        self.news_seen: set[int] = set()
        self.inbox = signals.Inbox()
        self.decision: DecideWithin | None = None
        self.attributes = attributes.Publisher(
            inp.request.district, inp.request.school_year, inp.policy.timezone
        )

    # ---- the stages -------------------------------------------------------------------

    @staticmethod
    def _admission(inp: WithinRequestInput, received: datetime, now: datetime) -> str | None:
        """The workflow's own verdict on its receipt, on its clock: why the start is refused,
        or None. Versioned (``intake-clock``): runs started before it were not judged."""
        if inp.windows is None or not versions.patched("intake-clock"):
            return None
        try:
            within_windows.check_receipt(
                inp.windows, inp.request.school_year, inp.kind, received, now,
                inp.policy.timezone, inp.paper_entry_days if inp.received_by else None,
            )
        except PolicyError as error:
            return str(error)
        return None

    @workflow.run
    async def run(self, inp: WithinRequestInput) -> WithinRequestState:
        if self.refusal is not None:
            # Before anything is recorded or sent: the failed run leaves nothing, and its id
            # may be used again (app/submissions.py REUSE).
            raise ApplicationError(f"start refused: {self.refusal}", type="StartRefused",
                                   non_retryable=True)
        seq = await self._enter(WithinStage.submitted, "received", inp.submitted_by,
                                self._received_detail())
        await self._notify_parent(NoticeKind.within_receipt, seq)
        if self.state.flags:
            await self._enter(
                WithinStage.awaiting_recommendation, "recommendations_requested", "system",
                ", ".join(k.value for k in self.state.flags),
            )
        if inp.kind is WithinKind.current_year:
            await self._current_year()
        else:
            await self._follow_lottery()
        await workflow.wait_condition(workflow.all_handlers_finished)
        if self.state.stage is WithinStage.placed:
            await self._issue_permit()
        await self.notices.settled()
        return self.state

    async def _current_year(self) -> None:
        """IX: after the recommendations, the designee decides weighing IX.B's factors."""
        await workflow.wait_condition(
            lambda: not self.state.is_open or not self.state.pending_recommendations()
        )
        if not self.state.is_open:
            return
        await self._enter(WithinStage.under_review, "review_started", "system", "IX.B")
        await workflow.wait_condition(lambda: self.decision is not None or not self.state.is_open)

    async def _follow_lottery(self) -> None:
        """VIII: apply the lottery's news in order, once the recommendations are in. The
        application entered the lottery before this workflow started, so news may have gone
        out before it could hear; ``ready`` asks the lottery to say it again."""
        await seat_news.ready(self.state.lottery_id, self.state.id)
        if not self.state.flags:
            await self._enter(WithinStage.in_lottery, "entered_lottery", "system", self._where())
        while self.state.is_open:
            await workflow.wait_condition(
                lambda: not self.state.is_open
                or (bool(self.news) and not self.state.pending_recommendations())
            )
            if not self.state.is_open:
                return
            news = self.news.pop(0)
            await self._apply_news(news)

    async def _apply_news(self, news: LotteryNews) -> None:
        stage = NEWS_STAGE[news.outcome]
        self.state.waitlist_position = news.waitlist_position
        self.state.offer_deadline = news.offer_deadline
        if stage is WithinStage.placed:
            self._assign()
        if stage in (WithinStage.denied, WithinStage.offer_expired, WithinStage.declined):
            self.state.reason = news.reason
        detail = news.reason or self._news_detail(news)
        seq = await self._enter(stage, f"lottery_{news.outcome.value}", news.lottery_id, detail)
        await self._notify_parent(NEWS_NOTICE[news.outcome], seq)

    async def _issue_permit(self) -> None:
        """IV.C, IV.D: the placement lives on as a permit for the educational level."""
        request, student = self.state.request, self.state.request.student
        state = PermitState(
            id=self.state.permit_id or permit_id(self.state.id),
            request_id=self.state.id,
            district=self.policy.district_id,
            process=PermitProcess.within_district,
            lottery_id=self.state.lottery_id,
            holder=permits.holder(student, request.parent),
            school=request.school,
            school_name=self._school_name(request.school),
            program=request.program.value,
            home_school=student.home_school,
            condition=PermitCondition.until_level_end,
            school_year=request.school_year,
            grade=student.grade,
            level_last_grade=self.inp.level_last_grade,
        )
        # Started without search attributes, as within-district permits always were.
        await permits.issue(state, permits.policy(self.policy), start_attributes=False)

    # ---- checks (shared by validators and handlers) -------------------------------------

    def _check_recommend(self, action: Recommend) -> None:
        # III.A, III.C, III.D: each recommendation has its role.
        authorize(f"within.recommend.{action.kind.value}", action.actor)
        if not self.state.is_open:
            refuse(f"request {self.state.id} is {self.state.stage.value}: nothing to recommend")
        if action.kind not in self.state.flags:
            refuse(f"request {self.state.id} needs no {action.kind.value} recommendation")
        if action.kind not in self.state.pending_recommendations():
            refuse(f"the {action.kind.value} recommendation was already given")

    def _check_decide(self, action: DecideWithin) -> None:
        authorize("within.decide", action.actor)
        if self.inp.kind is not WithinKind.current_year:
            refuse("next-year requests are decided by the lottery (VIII.B), not by hand")
        pending = ", ".join(k.value for k in self.state.pending_recommendations())
        if self.state.is_open and pending:
            refuse(f"request {self.state.id} awaits the {pending} recommendation (III)")
        if self.state.stage is not WithinStage.under_review:
            refuse(f"request {self.state.id} is {self.state.stage.value}: it cannot be decided")

    def _check_admitted(self) -> None:
        if self.refusal is not None:
            refuse(f"start refused: {self.refusal}")

    def _check_withdraw(self, action: WithdrawWithin) -> None:
        authorize("within.withdraw", action.actor)
        if self.state.stage is WithinStage.placed:
            refuse(f"request {self.state.id} is placed: its permit {self.state.permit_id} "
                   "holds the transfer now (`transfers permit ...`)")
        if not self.state.is_open:
            refuse(f"request {self.state.id} is {self.state.stage.value}: nothing to withdraw")

    # ---- signals and updates --------------------------------------------------------------

    @workflow.signal
    async def lottery_news(self, news: LotteryNews, proof: str = "") -> None:
        """The lottery's news, believed from the request's own lottery only (``signals``)."""
        # A signal of one argument (a lottery from before signed signals) does not match the
        # handler's two parameters, so the SDK hands it over undecoded.
        news = LotteryNews.model_validate(news)
        if not await self.inbox.believed("lottery_news", news, proof, self.state.lottery_id):
            return
        if news.seq and news.seq in self.news_seen:
            return  # the lottery repeated itself after a retry
        self.news_seen.add(news.seq)
        self.news.append(news)

    @checked_update(_check_recommend)
    async def recommend(self, action: Recommend) -> WithinRequestState:
        self._check_recommend(action)
        rec = Recommendation(
            kind=action.kind, recommended=action.recommended, reasoning=action.reasoning,
            by=action.actor.name, at=workflow.now(),
        )
        self.state.recommendations.append(rec)
        verdict = "recommended" if action.recommended else "not recommended"
        await self._enter(
            self.state.stage, f"recommendation_{action.kind.value}", action.actor.name,
            f"{verdict}: {action.reasoning}",
        )
        if not action.recommended:
            self.state.reason = (
                f"the {action.kind.value.replace('_', ' ')} recommendation was against the "
                f"transfer: {action.reasoning}"
            )
            seq = await self._enter(
                WithinStage.denied, "denied_on_recommendation", action.actor.name,
                self.state.reason,
            )
            await seat_news.seat_free(self.state.lottery_id, self.state.id)
            await self._notify_parent(NoticeKind.within_denied, seq, wait=False)
        elif not self.state.pending_recommendations() and self.inp.kind is not (
            WithinKind.current_year
        ) and self.state.stage is WithinStage.awaiting_recommendation:
            await self._enter(WithinStage.in_lottery, "entered_lottery", "system", self._where())
        return self.state

    @checked_update(_check_decide)
    async def decide(self, action: DecideWithin) -> WithinRequestState:
        self._check_decide(action)
        self.decision = action
        self.state.decided_at = workflow.now()
        self.state.decided_by = action.actor.name
        self.state.factors = action.factors
        factors = action.factors
        summary = (
            f"reasons: {factors.reasons}; time of year: {factors.time_of_year}; capacity and "
            f"staffing: {factors.capacity_and_staffing}; program: {factors.educational_program}"
        )
        if action.approve:
            self._assign()
            seq = await self._enter(WithinStage.placed, "approved", action.actor.name, summary)
            await self._notify_parent(NoticeKind.within_placed, seq, wait=False)
        else:
            self.state.reason = summary
            seq = await self._enter(WithinStage.denied, "denied", action.actor.name, summary)
            await self._notify_parent(NoticeKind.within_denied, seq, wait=False)
        return self.state

    @checked_update(_check_withdraw)
    async def withdraw(self, action: WithdrawWithin) -> WithinRequestState:
        self._check_withdraw(action)
        seq = await self._enter(
            WithinStage.withdrawn, "withdrawn", action.actor.name, action.reason or "withdrawn"
        )
        await seat_news.seat_free(self.state.lottery_id, self.state.id)
        await self._notify_parent(NoticeKind.within_withdrawn, seq, wait=False)
        return self.state

    @checked_update(_check_admitted)
    async def admitted(self) -> WithinRequestState:
        """The front asks once it has started the request: refused with the workflow's reason
        when its own clock refuses the receipt (``_admission``), else the state."""
        self._check_admitted()
        return self.state

    @workflow.query
    def status(self) -> WithinRequestState:
        return self.state

    # ---- effects ------------------------------------------------------------------------

    async def _enter(self, stage: WithinStage, event: str, actor: str, reason: str = "") -> int:
        """Change stage (or stay) and write the state and the audit entry."""
        seq = audit.append(
            self.state, self.state.history, WithinHistoryEntry, stage, event, actor, reason,
            attributes=self.attributes,
            # The only date a within-district request waits on is an offer's last day (VIII.D).
            due=lambda: self.state.offer_deadline if stage is WithinStage.offered else None,
        )
        await record(RecordActivities.record_within_event, self.state)
        return seq

    async def _notify_parent(self, kind: NoticeKind, seq: int, wait: bool = True) -> None:
        """``wait=False``: a staff action's notice (see `NoticesUnderway.send`)."""
        notice = Notice(
            key=f"{self.state.id}:{kind.value}:{seq}",
            request_id=self.state.id,
            kind=kind,
            sender=self.policy.notices_from,
            to=[self.state.request.parent.email],
            facts=self._facts(),
            language=self.state.request.parent.language,
            staff=list(self.policy.staff_notices_to),
        )
        await self.notices.send(notice, wait=wait, receipt=kind is NoticeKind.within_receipt)

    # ---- helpers ------------------------------------------------------------------------

    def _assign(self) -> None:
        self.state.assigned_school = self.state.request.school
        self.state.assigned_program = self.state.request.program
        self.state.permit_id = permit_id(self.state.id)

    def _school_name(self, school_id: str) -> str:
        return self.policy.schools.get(school_id, school_id)

    def _received_detail(self) -> str:
        """The audit of a paper form: when and by whom it was received, and when entered."""
        if self.state.received_by is None or self.state.entered_at is None:
            return ""
        zone = calendar.ZoneInfo(self.state.timezone)
        received = self.state.received_at.astimezone(zone).isoformat()
        entered = self.state.entered_at.astimezone(zone).isoformat()
        return f"paper form received {received} by {self.state.received_by}; entered {entered}"

    def _where(self) -> str:
        return self.state.request.seat_key.describe()

    @staticmethod
    def _news_detail(news: LotteryNews) -> str:
        if news.outcome is LotteryOutcome.waitlisted:
            return f"waitlist position {news.waitlist_position}"
        if news.outcome is LotteryOutcome.offered and news.offer_deadline:
            return f"offer open through {news.offer_deadline.isoformat()}"
        return ""

    def _facts(self) -> dict[str, Any]:
        request = self.state.request
        deadline = self.state.offer_deadline
        return {
            **request_facts(
                self.state.id, self.policy, request.student, request.parent, request.school_year
            ),
            "school": self._school_name(request.school),
            "program": request.program.value,
            "grade": f"grade {grade}" if (grade := request.student.grade) else "kindergarten",
            "home_school": self._school_name(request.student.home_school),
            "stage": self.state.stage.value,
            "kind": self.state.kind.value,
            "waitlist_position": self.state.waitlist_position,
            "offer_deadline": calendar.long_date(deadline) if deadline else "",
            "level_ends": calendar.long_date(self.state.level_ends)
            if self.state.level_ends
            else "",
            "reason": self.state.reason,
        }
