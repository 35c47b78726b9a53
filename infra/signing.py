"""The front's half of a proof (docs/cross-cutting.md "Proofs"): a Temporal client interceptor
that signs each Update and each workflow start for the person the front acts for
(``proofs.ACTING``), over the exact workflow, action and payload it sends."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from temporalio import client

from infra.proofs import (
    ACTING,
    HEADER,
    LIFETIME,
    Acting,
    Clock,
    ProofClaims,
    SigningKey,
    digest,
    header_payload,
    start_action,
)


async def wall_clock() -> datetime:
    return datetime.now(UTC)


class ProofSigner(client.Interceptor):
    """Signs with the key ``key()`` gives (read for each call: a rotated key is used at
    once) at the time ``clock()`` gives (the server's, in tests that move it). ``acting``
    says for whom a call is made; by default the front's ``proofs.ACTING``."""

    def __init__(self, key: Callable[[], SigningKey], clock: Clock = wall_clock,
                 acting: Callable[[Sequence[Any]], Acting | None] | None = None) -> None:
        self.key = key
        self.clock = clock
        self.acting = acting or (lambda args: ACTING.get())

    def intercept_client(self, next: client.OutboundInterceptor) -> client.OutboundInterceptor:
        return _Signing(next, self)

    async def proof(self, workflow_id: str, action: str, args: Sequence[Any]) -> str | None:
        who = self.acting(args)
        if who is None:
            return None
        now = await self.clock()
        return self.key().sign(ProofClaims(
            sub=who.subject, name=who.name, roles=list(who.roles), district=who.district,
            wf=workflow_id, act=action, dig=digest(args), iat=now, exp=now + LIFETIME,
            jti=uuid.uuid4().hex,
        ))


class _Signing(client.OutboundInterceptor):
    def __init__(self, next: client.OutboundInterceptor, signer: ProofSigner) -> None:
        super().__init__(next)
        self.signer = signer

    async def _signed(self, headers: Any, workflow_id: str, action: str,
                      args: Sequence[Any]) -> dict:
        token = await self.signer.proof(workflow_id, action, args)
        signed = dict(headers or {})
        if token is not None:
            signed[HEADER] = header_payload(token)
        return signed

    async def start_workflow(
        self, input: client.StartWorkflowInput
    ) -> client.WorkflowHandle[Any, Any]:
        input.headers = await self._signed(input.headers, input.id,
                                           start_action(input.workflow), input.args)
        return await super().start_workflow(input)

    async def start_workflow_update(
        self, input: client.StartWorkflowUpdateInput
    ) -> client.WorkflowUpdateHandle[Any]:
        input.headers = await self._signed(input.headers, input.id, input.update, input.args)
        return await super().start_workflow_update(input)
