"""The interdistrict attendance permit request (seed 000; docs/interdistrict.md "Stages"), from
submission to its end.

The run method reads like the policy's stages: documents, the release (into the district),
review with its statutory deadline, the decision, the appeal window, the county's outcome.
Staff actions are Updates with validators; each handler checks the stage again before it
changes anything, so two concurrent actions cannot both succeed. Dates come from `rules/`.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import date, datetime, time, timedelta
from typing import Any

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

from workflows.agreement import AgreementWatchInput, AgreementWatchWorkflow, agreement_watch_id
from workflows.common import audit, permits, versions
from workflows.common.notify import NoticesUnderway, request_facts
from workflows.common.updates import checked_update
from workflows.common.waiting import authorize, record, refuse, today_in, wait_until
from workflows.permit import permit_id

with workflow.unsafe.imports_passed_through():
    import rules.calendar as calendar
    from activities.records import RecordActivities
    from models.actions import (
        AddDocument,
        AddDocuments,
        Decide,
        DocumentFile,
        ExtendAppeal,
        FileAppeal,
        RecordAppealOutcome,
        RecordRelease,
        StaffAction,
        StartProvisional,
        Withdraw,
    )
    from models.decisions import DENIAL_REASON_TEXT, AppealOutcome, Outcome
    from models.district import DistrictPolicy, DistrictSnapshot
    from models.documents import DocumentRecord
    from models.notices import Notice, NoticeKind
    from models.permits import (
        PermitCondition,
        PermitProcess,
        PermitStage,
        PermitState,
        RevocationReason,
    )
    from models.requests import Direction, InterdistrictRequest
    from models.stages import APPEALABLE_STAGES, DECIDABLE_STAGES, Stage
    from models.state import HistoryEntry, ProvisionalAttendance, RequestState
    from rules import agreements as agreement_rules
    from rules import deadlines, documents, eligibility, provisional, receipts
    from rules import permits as permit_rules
    from rules.errors import PolicyError
    from workflows.common import attributes

REMINDER_CLOCK = time(8, 0)  # staff reminders go out at 8 a.m. local time


class PermitRequestInput(BaseModel):
    id: str
    request: InterdistrictRequest
    policy: DistrictPolicy
    submitted_by: str
    # A paper form: when and by whom it was received (docs/cross-cutting.md "Paper forms");
    # None: received when the workflow starts.
    received_at: datetime | None = None
    received_by: str | None = None
    # What the workflow re-checks at its start, on its clock (None in runs started before).
    last_day: date | None = None  # the school year's last day
    paper_entry_days: int = 0


@workflow.defn(name="InterdistrictPermitRequest")
class InterdistrictPermitWorkflow:
    @workflow.init
    def __init__(self, inp: PermitRequestInput) -> None:
        self.policy = inp.policy
        now = workflow.now()
        request = inp.request
        # Received when the server started the run, not when a worker first ran it: a
        # worker that starts late does not move a 4:59 p.m. submission past 5:00 p.m.
        started = (workflow.info().workflow_start_time
                   if versions.patched("received-at-start") else now)
        received = inp.received_at or started
        self.refusal = self._admission(inp, received, now)
        self.state = RequestState(
            id=inp.id,
            request=request,
            timezone=inp.policy.timezone,
            received_at=received,
            received_by=inp.received_by,
            entered_at=now if inp.received_by else None,
            missing_documents=documents.required_documents(
                request.direction,
                request.reason,
                request.student.has_iep_or_504,
                request.self_employed,
            ),
        )
        self.release_granted: bool | None = None
        # A paper form complete within its entry period (its documents, its release typed in
        # with it) came complete on the day it was received: the decision clock (EC 46600.2)
        # counts from that day, not from the typing-in (docs/interdistrict.md "Paper forms").
        tz = inp.policy.timezone
        self.paper_day = calendar.local_date(received, tz) if inp.received_by else None
        self.paper_entry_last = receipts.entry_last_day(received, inp.paper_entry_days, tz)
        self.notices = NoticesUnderway()  # the notices of staff actions, on their way
        # Versioned: from this change on a county extends only as EC 46601 allows (its class
        # and a circumstance); a run started before keeps the rule it started under.
        self.county_rules = versions.patched("county-class-extension")
        self.attributes = attributes.Publisher(
            request.district, request.school_year, inp.policy.timezone
        )

    # ---- the stages -------------------------------------------------------------------

    @staticmethod
    def _admission(inp: PermitRequestInput, received: datetime, now: datetime) -> str | None:
        """The workflow's own verdict on its receipt, on its clock (docs/cross-cutting.md "One
        clock for intake"): why the start is refused, or None. Versioned (``intake-clock``)."""
        if inp.last_day is None or not versions.patched("intake-clock"):
            return None
        policy, tz = inp.policy, inp.policy.timezone
        try:
            if inp.received_by is not None:
                receipts.check_received(received, now, inp.paper_entry_days, tz)
            eligibility.check_submission_date(
                inp.request.school_year, policy.first_day, inp.last_day,
                calendar.local_date(received, tz), policy.settings.opens_month,
                policy.settings.opens_day,
            )
        except PolicyError as error:
            return str(error)
        return None

    def _received_on(self) -> date:
        return calendar.local_date(self.state.received_at, self.state.timezone)

    @workflow.run
    async def run(self, inp: PermitRequestInput) -> RequestState:
        if self.refusal is not None:
            # Before anything is recorded or sent: the failed run leaves nothing, and its id
            # may be used again (app/submissions.py REUSE).
            raise ApplicationError(f"start refused: {self.refusal}", type="StartRefused",
                                   non_retryable=True)
        # The state starts as submitted; recording it must not undo an early withdrawal.
        await self._enter(self.state.stage, "submitted", inp.submitted_by,
                          self._received_detail() or "request received")
        await self._notify_parent(NoticeKind.receipt, received_on=self._long(self._received_on()))
        # Each stage begins only if the request is still open: a withdrawal can arrive
        # while the previous stage's record or notice is being written.
        if (
            await self._collect_documents()
            and self.state.is_open
            and await self._await_release()
            and self.state.is_open
            and await self._review()
        ):
            while self.state.is_open:
                if self.state.stage in APPEALABLE_STAGES:
                    await self._appeal_window()
                elif self.state.stage is Stage.appeal_pending:
                    await self._await_county()
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self.notices.settled()
        return self.state

    async def _collect_documents(self) -> bool:
        """Seed 000: incomplete applications are not processed; a missed deadline is
        abandonment."""
        if not self.state.is_open:
            return False
        if not self.state.missing_documents:
            return True
        due = deadlines.days_after(
            today_in(self.state.timezone), self.policy.settings.document_deadline_days
        )
        self.state.documents_due = due
        seq = await self._enter(
            Stage.awaiting_documents, "documents_requested", "system",
            "missing: " + ", ".join(self.state.missing_documents),
        )
        await self._notify_parent(
            NoticeKind.missing_documents, seq,
            missing=[self._document_label(k) for k in self.state.missing_documents],
            documents_due=self._long(due),
        )
        complete = await self._wait_through(
            lambda: not self.state.missing_documents
            or not self.state.is_open
            or self.release_granted is False,  # a refused release ends it at once
            due,
        )
        if not self.state.is_open:
            return False
        if not complete:
            await self._abandon("the required documents were not received", due)
            return False
        return True

    async def _await_release(self) -> bool:
        """Into the district: the district of residence must release the student first."""
        if self.state.request.direction is not Direction.into:
            return True
        if self.release_granted is None:
            due = deadlines.days_after(
                today_in(self.state.timezone), self.policy.settings.release_deadline_days
            )
            self.state.release_due = due
            await self._enter(
                Stage.awaiting_release, "awaiting_release", "system",
                f"waiting for {self.state.request.other_district} to release the student",
            )
            answered = await self._wait_through(
                lambda: self.release_granted is not None or not self.state.is_open, due
            )
            if not self.state.is_open:
                return False
            if not answered:
                await self._abandon(
                    "the release from the district of residence was not received", due
                )
                return False
        if not self.release_granted:
            seq = await self._enter(
                Stage.release_refused, "release_refused", "system",
                f"{self.state.request.other_district} refused to release the student",
            )
            await self._notify_parent(NoticeKind.release_refused, seq)
            return False
        return True

    async def _review(self) -> bool:
        """EC 46600.2 and the district's promise. The clock starts when the request is
        complete ("Incomplete applications will not be processed"): see README."""
        today = today_in(self.state.timezone)
        received = today
        if self.paper_day is not None and today <= self.paper_entry_last:
            received = self.paper_day
        due = deadlines.decision_deadlines(
            received, self.policy.first_day, self.policy.settings.decision_promise_days
        )
        self.state.review_started_at = workflow.now()
        self.state.decision_due, self.state.statutory_due = due.due, due.statutory
        seq = await self._enter(
            Stage.under_review, "review_started", "system",
            f"decision due {due.due.isoformat()} (statutory {due.statutory.isoformat()})",
        )
        if versions.patched("file-complete-notice"):
            # The parent learns the file is complete and by when the decision comes; the
            # review's clock does not wait for the mail.
            await self._notify_parent(NoticeKind.file_complete, seq, wait=False,
                                      decision_due=self._long(due.due))
        tz = self.state.timezone
        checkpoints: list[tuple[datetime, str]] = [
            (calendar.at_local(day, REMINDER_CLOCK, tz), "reminder")
            for day in deadlines.reminder_days(
                due.due, self.policy.settings.reminder_days_before_due, today
            )
        ]
        if due.promise < due.statutory:
            checkpoints.append((calendar.end_of_day(due.promise, tz), "overdue"))
        checkpoints.append((calendar.end_of_day(due.statutory, tz), "statute"))
        for instant, what in sorted(checkpoints):
            if await wait_until(lambda: self.state.stage is not Stage.under_review, instant):
                return True  # decided or withdrawn: the run loop takes it from here
            if what == "reminder":
                await self._notify_staff(
                    NoticeKind.staff_reminder,
                    f"reminder-{today_in(self.state.timezone).isoformat()}",
                )
            elif what == "overdue":
                self.state.overdue = True
                seq = await self._enter(
                    Stage.under_review, "overdue", "system",
                    f"past the district's promise of {due.promise.isoformat()}",
                )
                await self._escalate(
                    seq, "is overdue",
                    f"The district promised a decision by {self._long(due.promise)}. The "
                    f"statutory deadline is {self._long(due.statutory)}.",
                )
        await self._deem_denied()
        return True

    async def _deem_denied(self) -> None:
        """EC 46600.1: no written notice within the 46600.2 timelines is a denial."""
        self.state.overdue = True
        letter = today_in(self.state.timezone)
        self.state.appeal_deadline = deadlines.appeal_last_day(letter)
        seq = await self._enter(
            Stage.deemed_denied, "deemed_denied", "system",
            f"no decision by the statutory deadline {self.state.statutory_due}",
        )
        await self._notify_parent(
            NoticeKind.deemed_denied, seq, **self._appeal_facts(),
            statutory_due=self._long(self.state.statutory_due),
        )
        await self._escalate(
            seq, "was deemed denied",
            "No written decision was given by the statutory deadline "
            f"{self._long(self.state.statutory_due)} (EC 46600.2). The parent may appeal; "
            "staff may still decide.",
        )

    async def _appeal_window(self) -> None:
        """A denial (or a deemed denial) may be appealed within 30 days of its letter; no
        appeal in that window is abandonment (seed 000)."""
        stage, last_day = self.state.stage, self.state.appeal_deadline
        assert last_day is not None
        if await wait_until(
            lambda: self.state.stage is not stage or self.state.appeal_deadline != last_day,
            calendar.end_of_day(last_day, self.state.timezone),
        ):
            return
        await self._abandon("no appeal was filed with " + self.policy.settings.appeal_body,
                            last_day)

    async def _await_county(self) -> None:
        """The county decides within 30 days of filing (60 if extended); past that staff
        are escalated and the workflow goes on waiting for the recorded outcome."""
        escalated_for: date | None = None
        while self.state.stage is Stage.appeal_pending:
            due = self.state.appeal_decision_due
            assert due is not None

            def moved(due: date = due) -> bool:  # decided, withdrawn, or the due date extended
                return (
                    self.state.stage is not Stage.appeal_pending
                    or self.state.appeal_decision_due != due
                )

            if escalated_for == due:
                await workflow.wait_condition(moved)
                continue
            if await wait_until(moved, calendar.end_of_day(due, self.state.timezone)):
                continue
            escalated_for = due
            seq = await self._enter(
                Stage.appeal_pending, "county_decision_overdue", "system",
                f"the county's decision was due {due.isoformat()}",
            )
            await self._escalate(
                seq, "awaits the county's overdue appeal decision",
                f"The county board's decision was due by {self._long(due)}.",
            )

    async def _abandon(self, why: str, deadline: date) -> None:
        seq = await self._enter(Stage.abandoned, "abandoned", "system", why)
        await self._notify_parent(
            NoticeKind.abandoned, seq, why=why, deadline=self._long(deadline)
        )

    # ---- checks (shared by validators and handlers) -------------------------------------

    def _check(
        self,
        action_name: str,
        action: StaffAction,
        stages: set[Stage] | frozenset[Stage] | None = None,
        open_only: bool = False,
    ) -> None:
        authorize(action_name, action.actor)
        try:
            stage = self.state.stage
            if open_only and not self.state.is_open:
                raise PolicyError(f"request {self.state.id} is closed ({stage})")
            if stages is not None and stage not in stages:
                allowed = ", ".join(sorted(stages))
                raise PolicyError(
                    f"cannot {action_name.replace('_', ' ')}: request {self.state.id} is "
                    f"{stage}, the action needs {allowed}"
                )
        except PolicyError as error:
            refuse(str(error))


    def _check_release(self, action: RecordRelease) -> None:
        if self.state.request.direction is not Direction.into:
            refuse("a release is recorded only for requests into the district")
        if self.release_granted is not None:
            refuse("the release was already recorded")
        self._check(
            "record_release", action,
            stages={Stage.submitted, Stage.awaiting_documents, Stage.awaiting_release},
        )

    def _check_decision(self, action: Decide) -> None:
        self._check("decide", action, stages=DECIDABLE_STAGES)
        if action.outcome is Outcome.deny and not action.reasons:
            refuse("a denial must cite at least one of the seed's reasons")
        if action.outcome is Outcome.approve and action.reasons:
            refuse("an approval takes no denial reasons")
        if action.school is not None and action.school not in self.policy.schools:
            refuse(f"unknown school {action.school!r}")

    def _check_appeal(self, action: FileAppeal) -> date:
        self._check("file_appeal", action, stages=APPEALABLE_STAGES)
        student = self.state.request.student
        try:
            eligibility.check_may_appeal(student.expelled, student.pending_expulsion)
        except PolicyError as error:
            refuse(str(error))
        today = today_in(self.state.timezone)
        filed = action.filed_on or today
        deadline = self.state.appeal_deadline
        assert deadline is not None
        if filed > today:
            refuse(f"an appeal cannot be filed in the future ({filed.isoformat()})")
        letter = deadline - timedelta(days=deadlines.APPEAL_WINDOW_DAYS)  # the denial's date
        if filed < letter:
            refuse(
                f"an appeal cannot be filed before the denial of {letter.isoformat()} "
                f"({filed.isoformat()})"
            )
        if filed > deadline:
            refuse(f"the appeal window closed on {deadline.isoformat()}")
        return filed

    def _check_extension(self, action: ExtendAppeal) -> None:
        self._check("extend_appeal", action, stages={Stage.appeal_pending})
        extended = deadlines.county_decision_last_day(self.state.appeal_filed_on, extended=True)
        if self.state.appeal_decision_due == extended:
            refuse("the county's decision was already extended to 60 days")
        if self.county_rules:
            why = deadlines.extension_refusal(self.policy.settings.county_class,
                                              action.circumstance)
            if why is not None:
                refuse(why)

    def _school_days(self) -> provisional.SchoolDays:
        last = self.policy.last_day or self.policy.first_day + timedelta(days=365)
        return provisional.SchoolDays(self.policy.first_day, last,
                                      frozenset(self.policy.non_instructional))

    def _check_provisional(self, action: StartProvisional) -> None:
        """EC 46603: the district of proposed enrollment admits provisionally while the
        request (or its appeal) is pending: a request into the district, open, not yet
        approved, once."""
        self._check("start_provisional", action, open_only=True)
        if self.state.request.direction is not Direction.into:
            refuse("provisional attendance is in the district of proposed enrollment: only a "
                   "request into the district has it (EC 46603)")
        if self.state.provisional is not None:
            refuse(f"provisional attendance was recorded from "
                   f"{self.state.provisional.first_day.isoformat()}")
        received = calendar.local_date(self.state.received_at, self.state.timezone)
        try:
            provisional.check_first_attended(action.first_attended, self._school_days(),
                                             received, today_in(self.state.timezone))
        except PolicyError as error:
            refuse(str(error))

    # ---- staff actions ----------------------------------------------------------------

    @checked_update(lambda self, action: self._check("add_document", action, open_only=True))
    async def add_document(self, action: AddDocument) -> RequestState:
        self._check("add_document", action, open_only=True)
        self._take_document(action, action.actor.name)
        await record(RecordActivities.record_event, self.state)
        return self.state

    @checked_update(lambda self, action: self._check("add_document", action, open_only=True))
    async def add_documents(self, action: AddDocuments) -> RequestState:
        """A parent's packet: each document its own audit entry, in the order given, and one
        write of them all; the request moves on once the last one needed is in, as with
        `add_document`."""
        self._check("add_document", action, open_only=True)
        first = len(self.state.history) + 1
        for document in action.documents:
            self._take_document(document, action.actor.name)
        await record(RecordActivities.record_events, self.state, since=first)
        return self.state

    def _take_document(self, document: DocumentFile, actor: str) -> None:
        """Keep the document, strike its kind off the missing ones, and add its audit entry
        (not yet written)."""
        self.state.documents.append(
            DocumentRecord(
                kind=document.kind, name=document.name, sha256=document.sha256,
                size=document.size, recorded_by=actor, recorded_at=workflow.now(),
            )
        )
        self.state.missing_documents = [
            k for k in self.state.missing_documents if k is not document.kind
        ]
        self._append(
            self.state.stage, "document_added", actor,
            f"{document.kind.value}: {document.name} (sha256 {document.sha256[:12]})",
        )

    @checked_update(_check_release)
    async def record_release(self, action: RecordRelease) -> RequestState:
        self._check_release(action)
        self.release_granted = action.granted
        word = "granted" if action.granted else "refused"
        await self._enter(
            self.state.stage, f"release_{word}", action.actor.name,
            action.note or f"{self.state.request.other_district} {word} the release",
        )
        return self.state

    @checked_update(_check_decision)
    async def decide(self, action: Decide) -> RequestState:
        self._check_decision(action)
        self.state.decided_at = workflow.now()
        self.state.overdue = False
        actor = action.actor.name
        if action.outcome is Outcome.approve:
            await self._approve(actor, action.note or "approved", action.school, wait=False)
            return self.state
        self.state.denial_reasons = list(action.reasons)
        letter = today_in(self.state.timezone)
        self.state.appeal_deadline = deadlines.appeal_last_day(letter)  # from the letter's date
        seq = await self._enter(
            Stage.denied, "denied", actor,
            ", ".join(action.reasons) + (f"; {action.note}" if action.note else ""),
        )
        await self._notify_parent(
            NoticeKind.denied, seq, wait=False, **self._appeal_facts(),
            letter_date=self._long(letter),
            reasons=[DENIAL_REASON_TEXT[r] for r in action.reasons],
        )
        return self.state

    @checked_update(_check_appeal)
    async def file_appeal(self, action: FileAppeal) -> RequestState:
        filed = self._check_appeal(action)
        self.state.appeal_filed_on = filed
        self.state.appeal_decision_due = deadlines.county_decision_last_day(filed)
        seq = await self._enter(
            Stage.appeal_pending, "appeal_filed", action.actor.name,
            action.note or f"appeal filed with the county on {filed.isoformat()}",
        )
        await self._notify_parent(
            NoticeKind.appeal_received, seq, wait=False, filed_on=self._long(filed),
            appeal_decision_due=self._long(self.state.appeal_decision_due),
        )
        return self.state

    @checked_update(_check_extension)
    async def extend_appeal(self, action: ExtendAppeal) -> RequestState:
        self._check_extension(action)
        assert self.state.appeal_filed_on is not None
        self.state.appeal_decision_due = deadlines.county_decision_last_day(
            self.state.appeal_filed_on, extended=True
        )
        await self._enter(
            Stage.appeal_pending, "appeal_extended", action.actor.name,
            f"county decision due {self.state.appeal_decision_due.isoformat()}"
            + (f" ({action.circumstance.value})" if action.circumstance else "")
            + f": {action.reason}",
        )
        return self.state

    @checked_update(lambda self, action: self._check("record_appeal_outcome", action,
                                                     stages={Stage.appeal_pending}))
    async def record_appeal_outcome(self, action: RecordAppealOutcome) -> RequestState:
        self._check("record_appeal_outcome", action, stages={Stage.appeal_pending})
        self.state.appeal_outcome = action.outcome
        if action.outcome is AppealOutcome.granted:
            await self._approve(
                action.actor.name, action.note or "the county granted the appeal", None,
                notice=NoticeKind.appeal_granted, wait=False,
            )
        else:
            seq = await self._enter(
                Stage.denied_final, "appeal_upheld", action.actor.name,
                action.note or "the county upheld the denial",
            )
            await self._notify_parent(NoticeKind.appeal_upheld, seq, wait=False)
        return self.state

    @checked_update(_check_provisional)
    async def start_provisional_attendance(self, action: StartProvisional) -> RequestState:
        """EC 46603: staff record the first day attended; the workflow keeps the clock of two
        school months (`_provisional_clock`)."""
        self._check_provisional(action)
        last_day = provisional.provisional_last_day(action.first_attended, self._school_days())
        self.state.provisional = ProvisionalAttendance(
            first_day=action.first_attended, last_day=last_day, recorded_by=action.actor.name,
        )
        seq = await self._enter(
            self.state.stage, "provisional_attendance_started", action.actor.name,
            f"from {action.first_attended.isoformat()} through {last_day.isoformat()} at the "
            "latest, two school months (EC 46603)",
        )
        await self._notify_parent(
            NoticeKind.provisional_started, seq, wait=False,
            first_attended=self._long(action.first_attended),
            provisional_last_day=self._long(last_day),
        )
        # The clock runs beside the stages, which it does not wait for or hold up.
        self.provisional_clock = asyncio.create_task(self._provisional_clock())
        return self.state

    async def _provisional_clock(self) -> None:
        """EC 46603: provisional attendance lasts while the request is pending, at most to
        its last day; then, with no approval, it ends and the parent is told to enroll the
        pupil in the district of residence (staff are told too)."""
        attending = self.state.provisional
        assert attending is not None
        settled = await self._wait_through(
            lambda: not self.state.is_open or self.state.stage is Stage.approved,
            attending.last_day,
        )
        if settled:
            return
        attending.ended_on = attending.last_day
        seq = await self._enter(
            self.state.stage, "provisional_attendance_ended", "system",
            f"two school months ended {attending.last_day.isoformat()} with no decision "
            "(EC 46603): the pupil enrolls in the district of residence",
        )
        await self._notify_parent(NoticeKind.provisional_ended, seq,
                                  provisional_last_day=self._long(attending.last_day))
        await self._escalate(seq, "provisional attendance ended",
                             f"{self.state.id}: the 40th school day, "
                             f"{attending.last_day.isoformat()}, ended with no decision")

    @checked_update(lambda self, action: self._check("withdraw", action, open_only=True))
    async def withdraw(self, action: Withdraw) -> RequestState:
        self._check("withdraw", action, open_only=True)
        seq = await self._enter(
            Stage.withdrawn, "withdrawn", action.actor.name, action.note or "withdrawn"
        )
        await self._notify_parent(
            NoticeKind.withdrawn, seq, wait=False, today=self._long(today_in(self.state.timezone))
        )
        return self.state

    def _check_admitted(self) -> None:
        if self.refusal is not None:
            refuse(f"start refused: {self.refusal}")

    @checked_update(_check_admitted)
    async def admitted(self) -> RequestState:
        """The front asks once it has started the request: refused with the workflow's reason
        when its own clock refuses the receipt (``_admission``), else the state."""
        self._check_admitted()
        return self.state

    @workflow.query
    def status(self) -> RequestState:
        return self.state

    def _received_detail(self) -> str:
        """The audit of a paper form: when and by whom it was received, and when entered."""
        if self.state.received_by is None or self.state.entered_at is None:
            return ""
        zone = calendar.ZoneInfo(self.state.timezone)
        received = self.state.received_at.astimezone(zone).isoformat()
        entered = self.state.entered_at.astimezone(zone).isoformat()
        return f"paper form received {received} by {self.state.received_by}; entered {entered}"

    # ---- effects ------------------------------------------------------------------------

    async def _approve(
        self, actor: str, why: str, school: str | None,
        notice: NoticeKind = NoticeKind.approved, wait: bool = True,
    ) -> None:
        self.state.overdue = False
        self.state.permit_id = permit_id(self.state.id)
        school = school or self.state.request.preferred_school
        self.state.assigned_school = school
        seq = await self._enter(Stage.approved, "approved", actor, why)
        school_name = self.policy.schools.get(school, school) if school else ""
        to = [self.state.request.parent.email]
        if notice is NoticeKind.appeal_granted:
            to += self.policy.staff_notices_to  # "every party is notified" (seed 000)
        facts = {"permit_id": self.state.permit_id, "school": school_name}
        await self._send(notice, f"{seq}", to, facts, wait=wait)
        if versions.patched("issue-permit"):  # requests approved before this lived no further
            await self._issue_permit(school_name)

    async def _issue_permit(self, school_name: str) -> None:
        """The permit lives on in its own workflow, for as many school years as it holds."""
        request = self.state.request
        student = request.student
        where = school_name if request.direction is Direction.into else request.other_district
        state = PermitState(
            id=self.state.permit_id or permit_id(self.state.id),
            request_id=self.state.id,
            district=self.policy.district_id,
            process=PermitProcess.interdistrict,
            holder=permits.holder(student, request.parent),
            school=self.state.assigned_school or "",
            school_name=where,
            condition=PermitCondition.reapply_annually
            if request.reapply_annually
            else PermitCondition.until_level_end,
            school_year=request.school_year,
            grade=student.grade,
            level_last_grade=permit_rules.level_last_grade(student.grade),
        )
        settings = self.policy.settings
        policy = permits.policy(
            self.policy,
            renewal_opens_month=settings.opens_month,
            renewal_opens_day=settings.opens_day,
            renewal_deadline_month=settings.renewal_deadline_month,
            renewal_deadline_day=settings.renewal_deadline_day,
        )
        # Versioned: a permit issued from this change on carries its agreement's terms and,
        # out of the district, awaits the district of enrollment's endorsement.
        if versions.patched("permit-agreements"):
            self._agreement_terms(state)
            policy.endorsement_reminder_days_before = settings.endorsement_reminder_days_before
            await self._watch_agreement()
        # Versioned: the start command of a permit issued before this had no attributes.
        await permits.issue(state, policy, start_attributes=versions.patched("start-attributes"))

    def _agreement_terms(self, state: PermitState) -> None:
        """EC 46600(a)(2)-(3): the agreement's revocation terms go on the permit; a permit of
        this district of residence is valid on the endorsement of the district of
        enrollment, expected by the district's set number of days."""
        agreement = self.policy.agreement
        if agreement is not None:
            state.agreement = agreement.partner
            state.revocation_reasons = [RevocationReason(r)
                                        for r in agreement.revocation_reasons]
        if self.state.request.direction is Direction.out:
            today = today_in(self.state.timezone)
            state.issued_on = today
            state.endorsement_due = agreement_rules.endorsement_due(
                today, self.policy.settings.endorsement_due_days)
            state.stage = PermitStage.awaiting_endorsement

    async def _watch_agreement(self) -> None:
        """The agreement's end is told to staff ahead, by its own workflow (one per agreement
        and term): the first permit under it starts it; a later one finds it started."""
        agreement = self.policy.agreement
        if agreement is None:
            return
        with contextlib.suppress(WorkflowAlreadyStartedError):
            await workflow.start_child_workflow(
                AgreementWatchWorkflow.run,
                AgreementWatchInput(
                    district=DistrictSnapshot(**self.policy.model_dump(
                        include=set(DistrictSnapshot.model_fields))),
                    agreement=agreement,
                    notice_days_before=self.policy.settings.agreement_notice_days_before,
                ),
                id=agreement_watch_id(self.policy.district_id, agreement),
                parent_close_policy=ParentClosePolicy.ABANDON,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            )

    async def _enter(self, stage: Stage, event: str, actor: str, reason: str = "") -> int:
        """Change stage (or stay) and write the state and the audit entry."""
        seq = self._append(stage, event, actor, reason)
        await record(RecordActivities.record_event, self.state)
        return seq

    def _append(self, stage: Stage, event: str, actor: str, reason: str = "") -> int:
        """Change stage (or stay) and add the audit entry; the caller writes them."""
        return audit.append(
            self.state, self.state.history, HistoryEntry, stage, event, actor, reason,
            attributes=self.attributes, due=lambda: attributes.interdistrict_due(self.state),
        )

    async def _notify_parent(
        self, kind: NoticeKind, seq: int = 0, wait: bool = True, **facts: Any
    ) -> None:
        await self._send(kind, f"{seq}", [self.state.request.parent.email], facts, wait=wait)

    async def _notify_staff(self, kind: NoticeKind, sequence: str, **facts: Any) -> None:
        await self._send(kind, sequence, self.policy.staff_notices_to, facts)

    async def _escalate(self, seq: int, what: str, detail: str) -> None:
        await self._notify_staff(NoticeKind.staff_escalation, f"{seq}", what=what, detail=detail)

    async def _send(
        self, kind: NoticeKind, sequence: str, to: list[str], facts: dict[str, Any],
        wait: bool = True,
    ) -> None:
        """Build the notice and send it (``wait=False``: a staff action's, see
        `NoticesUnderway.send`)."""
        request = self.state.request
        notice = Notice(
            key=f"{self.state.id}:{kind.value}:{sequence}",
            request_id=self.state.id,
            kind=kind,
            sender=self.policy.notices_from,
            to=to,
            facts={**self._common_facts(), **facts},
            # Parents read notices in their language (EC 48985); staff read English, and are
            # told when a notice cannot be delivered.
            language="en" if kind.value.startswith("staff_") else request.parent.language,
            staff=list(self.policy.staff_notices_to),
        )
        await self.notices.send(notice, wait=wait, receipt=kind is NoticeKind.receipt)

    # ---- helpers ------------------------------------------------------------------------

    @staticmethod
    def _long(day: date | None) -> str:
        return calendar.long_date(day) if day else ""

    async def _wait_through(self, condition: Any, last_day: date) -> bool:
        """Wait for ``condition`` until ``last_day`` ends; False if the day ended first."""
        return await wait_until(
            condition, calendar.end_of_day(last_day, self.state.timezone)
        )


    def _appeal_facts(self) -> dict[str, Any]:
        student = self.state.request.student
        try:
            eligibility.check_may_appeal(student.expelled, student.pending_expulsion)
            may_appeal, why_not = True, ""
        except PolicyError as error:
            opens = eligibility.when_appeal_opens(student.expelled, student.pending_expulsion)
            may_appeal, why_not = False, f"The student may not appeal: {error}. {opens}"
        return {
            "appeal_deadline": self._long(self.state.appeal_deadline),
            "may_appeal": may_appeal,
            "no_appeal_reason": why_not,
        }

    def _common_facts(self) -> dict[str, Any]:
        request = self.state.request
        if request.direction is Direction.into:
            direction_text = f"into {self.policy.district_name} from {request.other_district}"
        else:
            direction_text = f"out of {self.policy.district_name} to {request.other_district}"
        return {
            **request_facts(
                self.state.id, self.policy, request.student, request.parent, request.school_year
            ),
            "direction": request.direction.value,
            "direction_text": direction_text,
            "other_district": request.other_district,
            "appeal_body": self.policy.settings.appeal_body,
            "reapply_annually": request.reapply_annually,
            "missing": [self._document_label(k) for k in self.state.missing_documents],
            "stage": self.state.stage.value,
            "decision_due": self._long(self.state.decision_due),
            "statutory_due": self._long(self.state.statutory_due),
        }

    @staticmethod
    def _document_label(kind: Any) -> str:
        return documents.DOCUMENT_LABELS.get(kind, str(kind))
