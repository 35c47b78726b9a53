"""The interdistrict permit workflow on the time-skipping server, every path of issue 2."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from models.actions import Decide, FileAppeal, RecordAppealOutcome, RecordRelease, Withdraw
from models.decisions import AppealOutcome, DenialReason, Outcome
from models.documents import DocumentKind
from models.stages import Stage
from store import notices as notice_store
from tests.factories import CLERK, COUNTY, DIRECTOR, NOBODY, make_input, make_request
from tests.workflow_helpers import (
    end_of,
    skip_to,
    start,
    status,
    supply_documents,
    today,
    wait_stage,
)
from workflows.interdistrict_permit import InterdistrictPermitWorkflow as W

DENY = Decide(actor=DIRECTOR, outcome=Outcome.deny, reasons=[DenialReason.no_space])
APPROVE = Decide(actor=DIRECTOR, outcome=Outcome.approve)


async def test_out_request_approved_issues_permit(env: WorkflowEnvironment, worker: Worker, engine):
    handle = await start(env, worker.task_queue)
    state = await supply_documents(handle)
    state = await wait_stage(handle, Stage.under_review)
    assert state.missing_documents == []
    state = await handle.execute_update(W.decide, APPROVE)
    assert state.stage is Stage.approved
    assert state.permit_id
    result = await handle.result()
    assert result.stage is Stage.approved
    kinds = [n.kind for n in notice_store.list_notices(engine, state.id)]
    assert kinds == ["receipt", "missing_documents", "approved"]
