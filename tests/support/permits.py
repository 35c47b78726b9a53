"""A permit workflow's input and its state on the time-skipping server (the permit and
replay tests)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date

from temporalio.client import WorkflowHandle

from models.permits import (
    PermitCondition,
    PermitHolder,
    PermitInput,
    PermitPolicy,
    PermitProcess,
    PermitState,
)
from tests.support.waiting import eventually
from tests.support.workflows import TZ
from workflows.permit import PermitWorkflow as P

__all__ = ["TZ", "permit_input", "reached", "school_year_now"]


def school_year_now(today: date) -> str:
    start = today.year if today.month >= 7 else today.year - 1
    return f"{start}-{start + 1}"


def permit_input(
    year: str, grade: int = 4, level_last_grade: int = 5,
    condition: PermitCondition = PermitCondition.until_level_end,
    process: PermitProcess = PermitProcess.interdistrict, program: str = "regular",
) -> PermitInput:
    request_id = f"req-{uuid.uuid4().hex[:8]}"
    state = PermitState(
        id=f"PERMIT-{request_id}", request_id=request_id, district="paramount",
        process=process,
        holder=PermitHolder(student_id="S1", student_name="Ana Lopez",
                            parent_name="Maria Lopez", parent_email="maria@example.com"),
        school="jackson-elementary", school_name="Jackson Elementary", program=program,
        home_school="abbott-elementary", condition=condition, school_year=year,
        grade=grade, level_last_grade=level_last_grade,
    )
    policy = PermitPolicy(district_id="paramount", district_name="Paramount Unified",
                          timezone=TZ, contact="Pupil Services",
                          notices_from="ps@paramount.example.org",
                          staff_notices_to=["ps@paramount.example.org"])
    return PermitInput(state=state, policy=policy)


async def reached(handle: WorkflowHandle, ready: Callable[[PermitState], bool], what: str
                  ) -> PermitState:
    """The permit's state once ``ready`` holds; a query that fails (between two runs of a
    continue-as-new, which on a loaded machine takes seconds to answer) is asked again."""

    async def current() -> PermitState | None:
        try:
            return await handle.query(P.status)
        except Exception:  # noqa: BLE001 - between two runs of a continue-as-new
            return None

    state = await eventually(current, lambda s: s is not None and ready(s), what=what)
    assert state is not None
    return state
