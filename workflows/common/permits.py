"""Issuing a permit (docs/permits.md "One workflow per permit"): an approved interdistrict
request and a placed within-district request each start the permit's own workflow, a child
that outlives them. What differs (the process, the school, how long it holds) the request
says; how the permit is started is here, once."""

from __future__ import annotations

from temporalio import workflow
from temporalio.workflow import ParentClosePolicy

from workflows.permit import PermitWorkflow

with workflow.unsafe.imports_passed_through():
    from models.district import DistrictSnapshot
    from models.people import Parent, StudentBase
    from models.permits import PermitHolder, PermitInput, PermitPolicy, PermitState
    from workflows.common import attributes


def holder(student: StudentBase, parent: Parent) -> PermitHolder:
    """Whom the permit is for and whom its notices go to, in the parent's language."""
    return PermitHolder(
        student_id=student.id, student_name=student.full_name,
        parent_name=parent.name, parent_email=parent.email, language=parent.language,
    )


def policy(district: DistrictSnapshot, **renewal: int) -> PermitPolicy:
    """The request's district snapshot, as the permit keeps it, with its renewal dates
    (``renewal_opens_month`` ...; the defaults when not given)."""
    return PermitPolicy(
        **district.model_dump(include=set(DistrictSnapshot.model_fields)), **renewal
    )


async def issue(state: PermitState, policy: PermitPolicy, *, start_attributes: bool) -> None:
    """Start the permit's workflow, ``state.id``, to live on after the request ends.

    ``start_attributes``: start it with its first stage's search attributes (``at_start``).
    An interdistrict permit issued before that change was started without them
    (``versions.patched("start-attributes")``); a within-district permit always was."""
    await workflow.start_child_workflow(
        PermitWorkflow.run,
        PermitInput(state=state, policy=policy),
        id=state.id,
        parent_close_policy=ParentClosePolicy.ABANDON,  # it outlives the request
        search_attributes=attributes.at_start(
            state.stage, state.district, state.school_year
        )
        if start_attributes
        else None,
    )
