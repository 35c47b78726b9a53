"""Sending a staff action to a workflow, or asking it a Query: the workflow's refusal, and a
workflow that is not there, become `Refused` with the reason."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from app import context
from app.errors import Refused

# Temporal's SDK and the workflows are imported in the functions that send or ask: `show` and
# `list` start without them (docs/cross-cutting.md "Settings").
if TYPE_CHECKING:
    from temporalio.service import RPCError


def rpc_refusal(workflow_id: str, error: RPCError) -> Refused:
    from temporalio.service import RPCStatusCode

    if error.status is RPCStatusCode.NOT_FOUND:
        return Refused(f"{workflow_id} is not running ({error.message})")
    return Refused(f"{workflow_id}: {error.message}")


async def update(workflow_id: str, update: Any, action: BaseModel, result_type: type) -> Any:
    """Send a staff action as an Update; the workflow's refusal becomes ``Refused``."""
    from temporalio.client import WorkflowUpdateFailedError
    from temporalio.service import RPCError

    client = await context.client()
    handle = client.get_workflow_handle(workflow_id)
    try:
        return await handle.execute_update(update, action, result_type=result_type)
    except WorkflowUpdateFailedError as error:
        cause = error.cause
        raise Refused(getattr(cause, "message", None) or str(cause)) from None
    except RPCError as error:
        raise rpc_refusal(workflow_id, error) from None


async def query(workflow_id: str, query: Any, *args: Any, result_type: type) -> Any:
    """Ask a workflow (running or ended) a Query; it changes nothing."""
    from temporalio.client import WorkflowQueryFailedError
    from temporalio.service import RPCError

    client = await context.client()
    handle = client.get_workflow_handle(workflow_id)
    try:
        return await handle.query(query, *args, result_type=result_type)
    except WorkflowQueryFailedError as error:
        raise Refused(f"{workflow_id}: {error.message}") from None
    except RPCError as error:
        raise rpc_refusal(workflow_id, error) from None
