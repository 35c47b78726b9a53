"""What a workflow's signal to another carries to be believed (docs/cross-cutting.md
"Signals between workflows"): the activities that sign and verify it take these."""

from __future__ import annotations

from models.base import Model


class SignalToSign(Model):
    """One signal a workflow is about to send: to whom, which, and its payload's digest."""

    target: str  # the receiving workflow's id
    action: str  # "signal:<name>" (infra.proofs.signal_action)
    dig: str  # infra.proofs.digest of the signal's arguments


class SignalsToSign(Model):
    sender: str  # the sending workflow's id
    signals: list[SignalToSign]


class SignalToVerify(Model):
    """A signal a workflow received with its proof; ``sender``, if set, is the only workflow
    it may come from."""

    token: str
    signal: SignalToSign
    sender: str | None = None
