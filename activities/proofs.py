"""Signing and verifying the signals one workflow sends another (docs/cross-cutting.md
"Signals between workflows"). Workflow code holds no key, so it asks the worker: a local
activity signs what a workflow is about to send, and another verifies what a workflow
received. The verdict is in the history (a local activity's marker), so a replay takes the
same signals as the run did whatever keys the worker holds by then."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from sqlalchemy import Engine
from temporalio import activity

from infra.proofs import LIFETIME, WORKFLOW, Keyring, ProofClaims, ProofError, SigningKey
from models.signals import SignalsToSign, SignalToVerify
from store.secrets import proof_keys


class ProofActivities:
    def __init__(self, engine: Engine, keyring: Keyring) -> None:
        self._engine = engine
        self._keyring = keyring

    @activity.defn(name="sign_signals")
    def sign_signals(self, batch: SignalsToSign) -> list[str]:
        """A proof for each signal, in order, signed with the deployment's newest key."""
        key = SigningKey.from_seed(proof_keys(self._engine)[-1].seed)
        now = datetime.now(UTC)
        return [
            key.sign(ProofClaims(
                sub=f"{WORKFLOW}{batch.sender}", name="system", roles=[], district="",
                wf=signal.target, act=signal.action, dig=signal.dig, iat=now,
                exp=now + LIFETIME, jti=secrets.token_hex(16),
            ))
            for signal in batch.signals
        ]

    @activity.defn(name="verify_signal")
    def verify_signal(self, received: SignalToVerify) -> str:
        """Why the signal is not believed, or "" when its proof holds."""
        signal = received.signal
        try:
            self._keyring.verify_signal(
                received.token, workflow_id=signal.target, action=signal.action,
                dig=signal.dig, sender=received.sender,
            )
        except ProofError as error:
            return str(error)
        return ""
