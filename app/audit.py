"""`transfers audit verify`: a request's audit trail in the records store, re-checked entry by
entry (docs/cross-cutting.md "Proofs").

Each entry a staff action wrote carries the action's proof: its signature must hold under one
of the deployment's keys, and it must name this request, the entry's actor, and a time the
entry falls within. The trail is then compared with the one the request's own workflow keeps
(the workflow is the truth; the store is its copy): a row edited, removed or added in the store
is a difference, named by its sequence number."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from app import context, requests
from models.audit import NumberedEntry

# Temporal's SDK and the workflows are imported in the functions that send or ask: `show` and
# `list` start without them (docs/cross-cutting.md "Settings").
if TYPE_CHECKING:
    from infra.proofs import Keyring, ProofClaims


@dataclass
class AuditReport:
    request_id: str
    entries: int = 0
    signed: int = 0
    compared: bool = False  # the workflow answered, and its trail was compared
    problems: list[str] = field(default_factory=list)

    @property
    def holds(self) -> bool:
        return not self.problems


def _check_proof(keyring: Keyring, request_id: str, entry: NumberedEntry) -> str | None:
    """What is wrong with the entry's proof, or None."""
    from infra.proofs import SKEW, ProofError

    assert entry.proof is not None
    try:
        claims: ProofClaims = keyring.signed_claims(entry.proof)
    except ProofError as error:
        return str(error)
    if claims.wf != request_id:
        return f"its proof is for {claims.wf}"
    if claims.name != entry.actor:
        return f"its proof was signed for {claims.name!r}, not {entry.actor!r}"
    if not claims.iat - SKEW <= entry.at <= claims.exp:
        return f"it was written at {entry.at.isoformat()}, outside its proof's lifetime"
    return None


async def verify(request_id: str) -> AuditReport:
    """Re-check every entry of the request's trail; the report names each problem."""
    from temporalio.client import WorkflowQueryFailedError
    from temporalio.service import RPCError

    from infra.proofs import Keyring
    from store.secrets import trusted_keys

    state = requests.with_history(requests.get(request_id))
    report = AuditReport(request_id, entries=len(state.history))
    keyring = Keyring({key.kid: key for key in trusted_keys(context.engine())})
    for entry in state.history:
        if entry.proof is None:
            continue
        report.signed += 1
        problem = _check_proof(keyring, request_id, entry)
        if problem:
            report.problems.append(f"entry {entry.seq} ({entry.event}): {problem}")
    client = await context.client()
    try:
        truth = await client.get_workflow_handle(request_id).query(
            "status", result_type=type(state))
    except (WorkflowQueryFailedError, RPCError):
        return report  # proofs checked; the trail itself could not be compared
    report.compared = True
    kept = {e.seq: e for e in state.history}
    for true in truth.history:
        stored = kept.pop(true.seq, None)
        if stored is None:
            report.problems.append(f"entry {true.seq} ({true.event}) is missing from the store")
        elif stored != true:
            fields = [name for name in type(true).model_fields
                      if getattr(stored, name) != getattr(true, name)]
            report.problems.append(f"entry {true.seq} ({true.event}) differs from the "
                                   f"workflow's in {', '.join(fields)}")
    for seq in sorted(kept):
        report.problems.append(f"entry {seq} is in the store but not in the workflow's trail")
    return report
