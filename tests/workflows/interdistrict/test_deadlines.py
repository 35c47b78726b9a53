"""The interdistrict permit workflow on the time-skipping server (issue 2): the review's
deadlines (the district's promise and the statute) and the county's appeal decision.

Shared steps: tests/support/interdistrict.py (as ``steps``); fixtures: conftest.py here.
"""

from __future__ import annotations

from datetime import timedelta

from models.actions import (
    FileAppeal,
    RecordAppealOutcome,
)
from models.decisions import AppealOutcome
from models.stages import Stage
from tests.support import interdistrict as steps
from tests.support.factories import COUNTY
from tests.support.interdistrict import (
    APPROVE,
    DENY,
    EXTEND,
    MINUTE,
    PARENT_EMAIL,
    SECOND,
    STAFF_EMAIL,
    WITHDRAW,
    Launch,
)
from tests.support.workflows import (
    end_of,
    local_day,
    refused,
    skip_to,
    today,
    wait_stage,
    wait_state,
)
from workflows.interdistrict_permit import InterdistrictPermitWorkflow as W

# ---- review deadlines: the district's promise and the statute ------------------------------------


async def test_a_complete_file_tells_the_parent_the_decisions_last_day(
    env, launch: Launch, engine
):
    """Seed 000: a complete application is processed; the parent is told it is complete and
    by when the decision comes (the promise or the statute, whichever is first)."""
    handle = await launch(first_day=await today(env) + timedelta(days=120))
    state = await steps.to_under_review(handle)
    (told,) = await steps.wait_notices(engine, state.id, "file_complete")
    assert told.recipients == PARENT_EMAIL
    assert "is complete" in told.subject
    due = state.decision_due
    assert f"{due:%B} {due.day}, {due.year}" in told.subject  # its long date
    await handle.execute_update(W.decide, APPROVE)
    await steps.finished(env, handle, Stage.approved)
    assert len(steps.notices_of(engine, state.id, "file_complete")) == 1  # once


async def test_past_the_promise_inside_the_statute_is_only_overdue(env, launch: Launch, engine):
    first_day = await today(env) + timedelta(days=120)  # received long before: statute later
    handle = await launch(first_day=first_day)
    state = await steps.to_under_review(handle)
    complete = local_day(state.review_started_at)
    assert state.statutory_due == first_day + timedelta(days=14)
    assert state.decision_due == complete + timedelta(days=30)  # the promise comes first
    assert state.decision_due < state.statutory_due
    # The reminders go out on the way; the state does not change until the promise ends.
    state = await steps.quiet_until(env, handle, end_of(state.decision_due) - SECOND, since=state)
    assert state.overdue is False
    reminders = await steps.wait_notices(engine, state.id, "staff_reminder", count=2)
    assert all(r.recipients == STAFF_EMAIL for r in reminders)
    assert steps.notices_of(engine, state.id, "staff_escalation") == []
    await skip_to(env, end_of(state.decision_due) + MINUTE)
    state = await wait_state(handle, lambda s: s.overdue, "overdue")
    assert state.stage is Stage.under_review
    assert "overdue" in steps.events(state)
    escalation = (await steps.wait_notices(engine, state.id, "staff_escalation"))[0]
    assert escalation.recipients == STAFF_EMAIL
    assert steps.notices_of(engine, state.id, "deemed_denied") == []
    state = await handle.execute_update(W.decide, APPROVE)
    assert state.overdue is False
    await steps.finished(env, handle, Stage.approved)



async def test_no_decision_by_the_statute_is_a_deemed_denial(env, launch: Launch, engine):
    first_day = await today(env) + timedelta(days=10)  # 15 or fewer days before: 30 days
    handle = await launch(first_day=first_day)
    state = await steps.to_under_review(handle)
    complete = local_day(state.review_started_at)
    assert state.statutory_due == complete + timedelta(days=30)
    assert state.decision_due == state.statutory_due
    state = await steps.quiet_until(env, handle, end_of(state.statutory_due) - SECOND, since=state)
    assert state.appeal_deadline is None
    await skip_to(env, end_of(state.statutory_due) + MINUTE)
    state = await wait_stage(handle, Stage.deemed_denied)
    letter = local_day(steps.entry(state, "deemed_denied").at)
    assert letter == state.statutory_due + timedelta(days=1)
    assert state.appeal_deadline == letter + timedelta(days=30)
    assert state.overdue is True
    notice = (await steps.wait_notices(engine, state.id, "deemed_denied"))[0]
    assert notice.recipients == PARENT_EMAIL
    await steps.wait_notices(engine, state.id, "staff_escalation")
    # Staff may still decide: a late approval ends it.
    state = await handle.execute_update(W.decide, APPROVE)
    assert state.stage is Stage.approved and state.overdue is False
    await steps.finished(env, handle, Stage.approved)
    assert steps.kinds(engine, state.id)[-1] == "approved"



async def test_late_denial_after_a_deemed_denial_restarts_the_appeal_window(
    env, launch: Launch, engine
):
    # Received more than 15 days before the first day, and a promise longer than the
    # statute: the statute (first day + 14) is what falls due.
    first_day = await today(env) + timedelta(days=20)
    handle = await launch(first_day=first_day, decision_promise_days=60)
    state = await steps.to_under_review(handle)
    assert state.statutory_due == first_day + timedelta(days=14)
    assert state.decision_due == state.statutory_due
    state = await steps.to_deemed_denied(env, handle)
    assert "overdue" not in steps.events(state)  # the promise never came before the statute
    first_window = state.appeal_deadline
    assert first_window is not None
    deemed = local_day(steps.entry(state, "deemed_denied").at)
    await skip_to(env, end_of(deemed + timedelta(days=5)))
    state = await handle.execute_update(W.decide, DENY)
    letter = local_day(steps.entry(state, "denied").at)
    assert state.stage is Stage.denied
    assert state.appeal_deadline == letter + timedelta(days=30)
    assert state.appeal_deadline > first_window
    # The deemed denial's window is gone: its end passes and nothing happens.
    await steps.quiet_until(env, handle, end_of(first_window) + MINUTE, since=state)
    await steps.quiet_until(env, handle, end_of(state.appeal_deadline) - SECOND, since=state)
    await skip_to(env, end_of(state.appeal_deadline) + MINUTE)
    await steps.finished(env, handle, Stage.abandoned)
    assert steps.kinds(engine, state.id)[-2:] == ["denied", "abandoned"]



async def test_deemed_denial_may_be_appealed(env, launch: Launch, engine):
    handle = await launch(first_day=await today(env) + timedelta(days=5))
    await steps.to_deemed_denied(env, handle)
    state = await handle.execute_update(W.file_appeal, FileAppeal(actor=COUNTY))
    assert state.stage is Stage.appeal_pending
    await handle.execute_update(
        W.record_appeal_outcome, RecordAppealOutcome(actor=COUNTY, outcome=AppealOutcome.granted)
    )
    await steps.finished(env, handle, Stage.approved)



# ---- the county's decision on an appeal ----------------------------------------------------------


async def test_overdue_county_decision_is_escalated_and_extension_moves_it_to_60_days(
    env, launch: Launch, engine
):
    handle = await launch()
    state = await steps.to_appeal_pending(handle)
    filed = state.appeal_filed_on
    assert filed is not None and state.appeal_decision_due == filed + timedelta(days=30)
    await steps.quiet_until(env, handle, end_of(state.appeal_decision_due) - SECOND, since=state)
    assert steps.notices_of(engine, state.id, "staff_escalation") == []
    await skip_to(env, end_of(state.appeal_decision_due) + MINUTE)
    state = await wait_state(
        handle, lambda s: "county_decision_overdue" in steps.events(s), "the county escalation"
    )
    assert state.stage is Stage.appeal_pending
    escalation = (await steps.wait_notices(engine, state.id, "staff_escalation"))[0]
    assert escalation.recipients == STAFF_EMAIL
    state = await handle.execute_update(W.extend_appeal, EXTEND)
    assert state.appeal_decision_due == filed + timedelta(days=60)
    state = await steps.quiet_until(env, handle, end_of(state.appeal_decision_due) - SECOND,
                                    since=state)
    assert steps.events(state).count("county_decision_overdue") == 1
    assert len(steps.notices_of(engine, state.id, "staff_escalation")) == 1
    await skip_to(env, end_of(state.appeal_decision_due) + MINUTE)
    state = await wait_state(
        handle, lambda s: steps.events(s).count("county_decision_overdue") == 2,
        "a second escalation",
    )
    await steps.wait_notices(engine, state.id, "staff_escalation", count=2)
    await handle.execute_update(
        W.record_appeal_outcome, RecordAppealOutcome(actor=COUNTY, outcome=AppealOutcome.upheld)
    )
    await steps.finished(env, handle, Stage.denied_final)



async def test_extension_before_the_30_days_defers_the_escalation(env, launch: Launch, engine):
    handle = await launch()
    state = await steps.to_appeal_pending(handle)
    filed = state.appeal_filed_on
    assert filed is not None
    state = await handle.execute_update(W.extend_appeal, EXTEND)
    assert state.appeal_decision_due == filed + timedelta(days=60)
    assert "appeal_extended" in steps.events(state)
    # Past the first 30 days, and on to the last second of the 60: no escalation.
    await steps.quiet_until(env, handle, end_of(filed + timedelta(days=30)) + MINUTE, since=state)
    state = await steps.quiet_until(env, handle, end_of(filed + timedelta(days=60)) - SECOND,
                                    since=state)
    assert "county_decision_overdue" not in steps.events(state)
    assert steps.notices_of(engine, state.id, "staff_escalation") == []
    await skip_to(env, end_of(filed + timedelta(days=60)) + MINUTE)
    await wait_state(
        handle, lambda s: "county_decision_overdue" in steps.events(s), "the county escalation"
    )
    await steps.wait_notices(engine, state.id, "staff_escalation")
    await handle.execute_update(W.withdraw, WITHDRAW)
    await steps.finished(env, handle, Stage.withdrawn)



async def test_extending_twice_is_refused(env, launch: Launch):
    handle = await launch()
    await steps.to_appeal_pending(handle)
    await handle.execute_update(W.extend_appeal, EXTEND)
    await refused(handle, W.extend_appeal, EXTEND, "already extended to 60 days")



async def test_an_extension_is_refused_outside_a_class_1_or_2_county_or_without_its_circumstance(
    env, launch: Launch
):
    """EC 46601 (SB 413, 2023): a class 3 county decides within 30 days; in Los Angeles
    (class 1) an extension must name the statute's circumstance. Refused, nothing changes."""
    handle = await launch(county_class=3)
    await steps.to_appeal_pending(handle)
    await refused(handle, W.extend_appeal, EXTEND, "class 3", "decides within 30")
    shipped = await launch()  # Paramount's file: Los Angeles County, class 1
    await steps.to_appeal_pending(shipped)
    await refused(shipped, W.extend_appeal, EXTEND.model_copy(update={"circumstance": None}),
                  "must name its circumstance")


async def test_appeal_outcome_when_no_appeal_is_pending_is_refused(env, launch: Launch):
    handle = await launch()
    await steps.to_denied(handle)
    await refused(
        handle, W.record_appeal_outcome,
        RecordAppealOutcome(actor=COUNTY, outcome=AppealOutcome.upheld),
        "cannot record appeal outcome", "denied", "appeal_pending",
    )
    await refused(handle, W.extend_appeal, EXTEND, "cannot extend appeal", "denied")

