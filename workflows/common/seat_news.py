"""Telling the lottery about a seat (docs/lottery.md "Seats that free"): a within-district
request that no longer holds or wants its seat (withdrawn, denied on a recommendation) and a
permit from the lottery that ends both give the seat back the same way, here; a request that
has just started asks to hear its news again."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import FailureError

from workflows.common import signals


async def seat_free(lottery_id: str | None, application_id: str) -> None:
    """The seat of ``application_id`` goes back to the lottery's next in line (``forfeit``)."""
    await _tell(lottery_id, "forfeit", application_id)


async def ready(lottery_id: str | None, application_id: str) -> None:
    """The request's workflow is listening: the lottery says again what it may have missed."""
    await _tell(lottery_id, "ready", application_id)


async def _tell(lottery_id: str | None, signal: str, application_id: str) -> None:
    """Signal the lottery, if the request or permit came from one, with the signal's proof
    (``signals``). A lottery that has ended (after the first day of school) has nothing to
    do: nobody waits for the seat."""
    if lottery_id is None:
        return
    [proof] = await signals.proofs_for([(lottery_id, signal, application_id)])
    try:
        await workflow.get_external_workflow_handle(lottery_id).signal(
            signal, args=signals.arguments(application_id, proof))
    except FailureError as error:
        workflow.logger.info("lottery %s not told: %s", lottery_id, error)
