"""The workflow's half of a proof (docs/cross-cutting.md "Proofs"): a worker interceptor that
believes no action it cannot verify.

- A start from outside (not a child, not a continuation) must carry a proof of its own
  workflow id, type and input: a forged one fails at once, before the workflow's code runs, so
  it leaves no record, no notice and no timer.
- An Update's proof is verified in its validator (a refusal leaves no trace in the history)
  and again in its handler (validators do not run on replay; the handler's check is the one
  a replay repeats). A proof is taken once per run.
- The actor of the action is the proof's, never the payload's: the workflows' role checks
  (``rules.roles``) then read the roles the roster gave the signed-in person.
- The handler keeps the proof where the audit trail's writer finds it (``CURRENT_PROOF``).

Signals are the workflows' own, sent by one workflow to another: they carry a proof the worker
signed and are verified where they are received (``workflows.common.signals``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel
from temporalio import workflow
from temporalio.exceptions import ApplicationError
from temporalio.worker import (
    ExecuteWorkflowInput,
    HandleUpdateInput,
    Interceptor,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
)

from infra.proofs import (
    CURRENT_PROOF,
    VERIFIED,
    Keyring,
    ProofClaims,
    ProofError,
    header_token,
    start_action,
)
from workflows.common import versions


class ProofChecker(Interceptor):
    """The worker's interceptor; ``keyring`` is the deployment's public keys (refreshed in
    place by the worker)."""

    def __init__(self, keyring: Keyring) -> None:
        self.keyring = keyring

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor]:
        keyring = self.keyring

        class Checking(_Checking):
            pass

        Checking.keyring = keyring
        return Checking


def _as_actor(args: Sequence[Any], claims: ProofClaims) -> list[Any]:
    """The Update's arguments with the proof's person as the actor: the action's ``actor``,
    or the argument itself where the action is only its actor (the lottery's certification)."""
    acted = list(args)
    first = acted[0] if acted else None
    if not isinstance(first, BaseModel):
        return acted
    fields = type(first).model_fields
    if set(fields) == {"name", "roles"}:  # an Actor
        acted[0] = type(first)(name=claims.name, roles=list(claims.roles))
    elif "actor" in fields:
        actor_type = fields["actor"].annotation
        actor = actor_type(name=claims.name, roles=list(claims.roles))  # type: ignore[misc]
        acted[0] = first.model_copy(update={"actor": actor})
    return acted


class _Checking(WorkflowInboundInterceptor):
    keyring: Keyring

    def init(self, outbound: Any) -> None:
        self.used: set[str] = set()
        super().init(outbound)

    def _verify(self, headers: Any, action: str, args: Sequence[Any]) -> ProofClaims:
        token = header_token(headers)
        if token is None:
            raise ProofError("the action carries no proof of who sent it: sign in and use "
                             "the district's tools")
        return self.keyring.verify(
            token, workflow_id=workflow.info().workflow_id, action=action, args=args,
            now=workflow.now(), used=self.used.__contains__,
            signature=not workflow.unsafe.is_replaying(),
        )

    async def execute_workflow(self, input: ExecuteWorkflowInput) -> Any:
        info = workflow.info()
        from_outside = info.parent is None and info.continued_run_id is None
        if from_outside and versions.patched("signed-starts"):
            try:
                self._verify(input.headers, start_action(info.workflow_type), input.args)
            except ProofError as error:
                raise ApplicationError(f"start refused: {error}", type="ForgedStart",
                                       non_retryable=True) from None
        return await super().execute_workflow(input)

    def handle_update_validator(self, input: HandleUpdateInput) -> None:
        try:
            claims = self._verify(input.headers, input.update, input.args)
        except ProofError as error:
            raise ApplicationError(str(error), type="PolicyError", non_retryable=True) from None
        input.args = _as_actor(input.args, claims)
        verified = VERIFIED.set(claims)
        try:
            super().handle_update_validator(input)
        finally:
            VERIFIED.reset(verified)

    async def handle_update_handler(self, input: HandleUpdateInput) -> Any:
        if not versions.patched("signed-actions"):  # accepted before proofs: as it ran
            return await super().handle_update_handler(input)
        try:
            claims = self._verify(input.headers, input.update, input.args)
        except ProofError as error:
            raise ApplicationError(str(error), type="PolicyError", non_retryable=True) from None
        self.used.add(claims.jti)
        input.args = _as_actor(input.args, claims)
        token = CURRENT_PROOF.set(header_token(input.headers))
        verified = VERIFIED.set(claims)
        try:
            return await super().handle_update_handler(input)
        finally:
            VERIFIED.reset(verified)
            CURRENT_PROOF.reset(token)
