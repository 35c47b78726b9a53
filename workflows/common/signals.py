"""Signals between workflows, proven (docs/cross-cutting.md "Signals between workflows").

The district's workflows tell each other things by signal: a lottery tells a request its
news, a request or a permit gives its seat back to the lottery (``forfeit``) or asks to hear
its news again (``ready``). Anyone who reaches Temporal could send the same signals, so
from ``signed-signals`` on a sender has the worker sign each (a local activity: workflow
code holds no key) and sends the proof as the signal's last argument, and a receiver
believes a signal only once a local activity has verified its proof. The verdict is a
marker in the receiver's history, so a replay believes what the run believed."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from temporalio import workflow

from workflows.common import versions
from workflows.common.waiting import RETRY

with workflow.unsafe.imports_passed_through():
    from activities.proofs import ProofActivities
    from infra.proofs import digest, signal_action
    from models.signals import SignalsToSign, SignalToSign, SignalToVerify

SIGNED = "signed-signals"  # the versioned change: signals carry proofs, and need them
TIMEOUT = timedelta(seconds=30)


async def proofs_for(signals: Sequence[tuple[str, str, Any]]) -> list[str | None]:
    """A proof for each ``(target workflow id, signal name, payload)`` about to be sent, in
    one local activity; None for each in a run from before signed signals."""
    if not signals or not versions.patched(SIGNED):
        return [None] * len(signals)
    batch = SignalsToSign(sender=workflow.info().workflow_id, signals=[
        SignalToSign(target=target, action=signal_action(name), dig=digest([payload]))
        for target, name, payload in signals
    ])
    proofs: list[str] = await workflow.execute_local_activity_method(
        ProofActivities.sign_signals, batch, start_to_close_timeout=TIMEOUT, retry_policy=RETRY
    )
    return list(proofs)


def arguments(payload: Any, proof: str | None) -> list[Any]:
    """The signal's arguments: its payload, then its proof if it has one."""
    return [payload] if proof is None else [payload, proof]


class Inbox:
    """Where a workflow's signal handlers ask whether to believe what they received. The
    handlers are answered in the order the signals came (the lock is first come, first
    served), so news is applied in the order it was sent."""

    def __init__(self) -> None:
        self._turn = asyncio.Lock()

    async def believed(self, name: str, payload: Any, proof: str,
                       sender: str | None = None) -> bool:
        """Whether the signal ``name`` with ``payload`` and ``proof`` is to be believed:
        always in a run from before signed signals (as it ran); else only with a proof that
        holds, from ``sender`` if one is given. A signal not believed is dropped, logged
        with why (ids and the proof's fault only, never a payload)."""
        if not versions.patched(SIGNED):
            return True
        async with self._turn:
            if not proof:
                why = "it carries no proof"
            else:
                received = SignalToVerify(
                    token=proof, sender=sender, signal=SignalToSign(
                        target=workflow.info().workflow_id, action=signal_action(name),
                        dig=digest([payload]),
                    ),
                )
                why = await workflow.execute_local_activity_method(
                    ProofActivities.verify_signal, received, start_to_close_timeout=TIMEOUT,
                    retry_policy=RETRY,
                )
        if why:
            workflow.logger.warning("signal %s not believed: %s", name, why)
        return not why
