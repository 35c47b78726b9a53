"""Updates with payloads the CLI would never send, straight to the workflows (malformed
actions, wrong roles, impossible values, unknown Updates): each rejected, naming the problem,
and nothing changed (the records store, the documents and the workflow's state and history)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import pytest

from tests.support.bad_input import MB, World, snapshot


def _actor(name: str, *roles: str) -> dict[str, Any]:
    return {"name": name, "roles": list(roles)}


DIRECTOR = _actor("director", "director")
CLERK = _actor("clerk", "pupil_services")
SHA = "ab" * 32
DOC = {"actor": CLERK, "kind": "escrow_or_lease", "name": "lease.pdf", "sha256": SHA, "size": 10}
DOC_FILE = {k: v for k, v in DOC.items() if k != "actor"}
WEIGHED = {"reasons": "r", "time_of_year": "t", "capacity_and_staffing": "c",
           "educational_program": "p"}


@dataclass(frozen=True)
class UpdateCase:
    """An Update with a payload the CLI would never send, straight to a workflow (by the
    world's request name); its rejection must name the problem and change nothing."""

    id: str
    target: str
    update: str
    payload: Any
    expect: tuple[str, ...]


UPDATES = [
    UpdateCase("decide-outcome-maybe", "review", "decide",
               {"actor": DIRECTOR, "outcome": "maybe"}, ("outcome",)),
    UpdateCase("decide-bogus-reason", "review", "decide",
               {"actor": DIRECTOR, "outcome": "deny", "reasons": ["bogus"]}, ("reasons",)),
    UpdateCase("decide-huge-note", "review", "decide",
               {"actor": DIRECTOR, "outcome": "approve", "note": "n" * MB}, ("note",)),
    UpdateCase("decide-without-actor", "review", "decide", {"outcome": "approve"}, ("actor",)),
    UpdateCase("decide-nameless-actor", "review", "decide",
               {"actor": _actor("", "director"), "outcome": "approve"}, ("actor.name",)),
    UpdateCase("decide-not-an-object", "review", "decide", "approve", ("Decide",)),
    UpdateCase("decide-by-the-clerk", "review", "decide",
               {"actor": CLERK, "outcome": "approve"}, ("may not decide",)),
    UpdateCase("decide-withdrawn", "withdrawn", "decide",
               {"actor": DIRECTOR, "outcome": "approve"}, ("already completed",)),
    UpdateCase("document-name-dot-dot", "open", "add_document",
               {**DOC, "name": "../../etc/passwd"}, ("tries to leave the document store",)),
    UpdateCase("document-name-nul", "open", "add_document",
               {**DOC, "name": "lease\x00.pdf"}, ("control character",)),
    UpdateCase("document-bad-hash", "open", "add_document", {**DOC, "sha256": "not-a-hash"},
               ("sha256",)),
    UpdateCase("document-negative-size", "open", "add_document", {**DOC, "size": -1},
               ("size",)),
    UpdateCase("document-unknown-kind", "open", "add_document", {**DOC, "kind": "selfie"},
               ("kind",)),
    UpdateCase("packet-empty", "open", "add_documents", {"actor": CLERK, "documents": []},
               ("documents",)),
    UpdateCase("packet-name-dot-dot", "open", "add_documents",
               {"actor": CLERK, "documents": [DOC_FILE, {**DOC_FILE, "name": "../../etc/passwd"}]},
               ("tries to leave the document store",)),
    UpdateCase("appeal-impossible-date", "denied", "file_appeal",
               {"actor": CLERK, "filed_on": "2027-02-30"}, ("filed_on",)),
    UpdateCase("release-grant-as-word", "open", "record_release",
               {"actor": CLERK, "granted": "perhaps"}, ("granted",)),
    UpdateCase("unknown-update", "review", "approve_everything", {"actor": DIRECTOR},
               ("approve_everything",)),
    UpdateCase("within-decide-empty-factors", "w_review", "decide",
               {"actor": _actor("kowalski", "superintendent_designee"), "approve": True,
                "factors": {**WEIGHED, "reasons": ""}}, ("factors.reasons",)),
    UpdateCase("within-recommend-bogus-kind", "w_review", "recommend",
               {"actor": _actor("kowalski", "superintendent_designee"), "kind": "vibes",
                "recommended": True, "reasoning": "x"}, ("kind",)),
    UpdateCase("certify-without-roles", "lottery", "certify", {"name": "tran"},
               ("may not certify",)),
    UpdateCase("certify-no-name", "lottery", "certify", {"roles": ["lottery_certifier"]},
               ("name",)),
    UpdateCase("add-seats-grade-13", "lottery", "add_seats",
               {"key": {"school": "norris-elementary", "program": "montessori", "grade": 13},
                "seats": 1, "actor": _actor("olsen", "seat_setter")}, ("grade",)),
]


async def _send(world: World, case: UpdateCase) -> str:
    """Send the case as a front holding the district's key would, signed for the actor the
    payload names: what is tested is the workflow's own checks, not the proof's."""
    from temporalio.client import WorkflowUpdateFailedError
    from temporalio.service import RPCError

    from app.context import signing_key
    from infra.settings import connect
    from infra.signing import ProofSigner
    from tests.support.proofs import acting_for

    client = await connect(interceptors=[ProofSigner(signing_key, acting=acting_for)])
    handle = client.get_workflow_handle(world.ids[case.target])
    try:
        await handle.execute_update(case.update, case.payload)
    except WorkflowUpdateFailedError as error:
        chain, cause = [], error.cause
        while cause is not None:
            chain.append(str(cause))
            cause = cause.__cause__
        return " / ".join(chain)
    except RPCError as error:
        return error.message
    raise AssertionError(f"{case.id}: the Update was accepted")


@pytest.mark.e2e
@pytest.mark.parametrize("case", UPDATES, ids=[case.id for case in UPDATES])
def test_bad_update_is_rejected_and_changes_nothing(world: World, case: UpdateCase) -> None:
    before = snapshot(world, (case.target,))
    message = asyncio.run(_send(world, case))
    for words in case.expect:
        assert words in message, (words, message)
    assert snapshot(world, (case.target,)) == before
