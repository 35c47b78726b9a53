"""What a signed-in parent does on the portal (docs/portal.md "Parents acting"): hand in the
documents their request still misses, withdraw a request of either process, and answer a
seat offered to a within-district request.

Each acts only on the parent's own requests (`app.parents.request_of`: any other id is "no
such request", as one that does not exist) and goes to the workflow as staff actions do: an
Update with a proof signed for the parent (subject ``parent:<address>``, the one role
``parent``), which the workflow verifies and checks against `rules.roles` (the role may hand
in documents, withdraw, answer an offer, nothing else). The audit trail names the parent.

Refusals of a file are `FileRefused` with a code (`TOO_LARGE`, `EMPTY`, ...) and the document
kind it was for: a front says each in its own words, next to its field."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO

from app import context, parents
from app.errors import Refused
from app.parent_signin import Parent
from app.requests import get
from infra.proofs import ACTING, Acting
from models import actions
from models.actions import MAX_DOCUMENTS_AT_ONCE
from models.documents import DocumentKind
from models.lottery_record import Offer, OfferAnswer
from models.people import Actor
from models.roles import PARENT
from models.state import RequestState
from models.within_request import WithdrawWithin, WithinRequestState, WithinStage
from rules.content import check_document_content
from rules.documents import check_document_name
from rules.errors import PolicyError
from rules.roles import check_role
from store.documents import Staged
from store.uploads import MAX_DOCUMENT_BYTES

__all__ = ["MAX_DOCUMENTS_AT_ONCE", "MAX_DOCUMENT_BYTES", "FileRefused", "Upload", "add_documents",
           "answer_offer", "withdraw"]

# Temporal's SDK and the workflows are imported in the functions that send: reading a
# request's page starts without them (docs/cross-cutting.md "Settings").

NOT_FOUND = parents.NOT_FOUND
CLOSED = "This request is closed: nothing can be done on it now."
NOT_MISSING = "That document is not one the request is missing."
NO_FILE = "Choose a file for at least one of the documents."
NO_OFFER = "No seat is offered to this request now."
PLACED = "This request is placed: ask the district to end the transfer."

# A file's refusals, by code: the front words each.
TOO_LARGE, EMPTY, NOT_A_DOCUMENT, BAD_NAME = "too_large", "empty", "not_a_document", "bad_name"
UNREADABLE = "unreadable"


class FileRefused(Refused):
    """One file refused: which document it was for, and why (a code)."""

    def __init__(self, kind: str, code: str, said: str) -> None:
        super().__init__(said)
        self.kind, self.code = kind, code


@dataclass
class Upload:
    """A file a parent hands in for a document kind: its name, the size the front was told
    (checked before a byte is read) and the stream to read it from."""

    kind: str
    name: str
    size: int | None
    source: BinaryIO


def subject(parent: Parent) -> str:
    return f"parent:{parent.email}"


def _own(parent: Parent, request_id: str) -> RequestState | WithinRequestState:
    """The request, once it is shown to be this parent's; "no such request" else."""
    parents.request_of(parent, request_id)  # refuses another family's id as a missing one
    try:
        return get(request_id)
    except Refused:
        raise Refused(NOT_FOUND) from None


def _acting_as(parent: Parent, district: str) -> Actor:
    """The parent as the actor of what is sent next: the proof is signed for them with the
    one role ``parent`` (never a staff role), and the audit trail writes their subject."""
    # As app/applications.py names the parent who applied; the audit's column holds 100
    # characters, the proof keeps the whole subject.
    name = f"parent {parent.email}"[:100]
    ACTING.set(Acting(subject=subject(parent), name=name, roles=(PARENT,), district=district))
    return Actor(name=name, roles=[PARENT])


async def _update(workflow_id: str, update_: Any, action: Any, result_type: type) -> Any:
    from app.temporal import update

    return await update(workflow_id, update_, action, result_type=result_type)


# ---- documents ----------------------------------------------------------------------------


def _kind(state: RequestState, kind: str) -> DocumentKind:
    try:
        found = DocumentKind(kind)
    except ValueError:
        raise FileRefused(kind, "not_missing", NOT_MISSING) from None
    if found not in state.missing_documents:
        raise FileRefused(kind, "not_missing", NOT_MISSING)
    return found


def _stage(upload: Upload) -> Staged:
    """The file checked as a staff member's is (its name, its size before it is read, its
    content against what its name says) and copied into the store, not yet placed."""
    store = context.documents()
    try:
        check_document_name(upload.name)
    except PolicyError as error:
        raise FileRefused(upload.kind, BAD_NAME, str(error)) from None
    if upload.size is not None and upload.size > MAX_DOCUMENT_BYTES:
        raise FileRefused(upload.kind, TOO_LARGE, f"larger than {MAX_DOCUMENT_BYTES} bytes")
    try:
        return store.stage(upload.name, upload.source, check_document_content)
    except PolicyError as error:
        said = str(error)
        code = (EMPTY if said.endswith("is empty") else TOO_LARGE if "larger than" in said
                else UNREADABLE if "could not be" in said else NOT_A_DOCUMENT)
        raise FileRefused(upload.kind, code, said) from None


async def add_documents(parent: Parent, request_id: str,
                        uploads: Sequence[Upload]) -> RequestState:
    """Hand in files for documents the request misses: all of them, or none (a refused file
    leaves nothing stored); each is an entry of the audit trail, as the parent's."""
    from workflows.interdistrict_permit import InterdistrictPermitWorkflow

    state = _own(parent, request_id)
    if not isinstance(state, RequestState):  # a within-district request asks for none
        raise Refused(NOT_MISSING)
    if not state.is_open:
        raise Refused(CLOSED)
    if not uploads:
        raise Refused(NO_FILE)
    if len(uploads) > MAX_DOCUMENTS_AT_ONCE:
        raise Refused(NO_FILE)
    kinds = [_kind(state, u.kind) for u in uploads]
    actor = _acting_as(parent, state.request.district)
    check_role("add_document", actor.name, actor.roles)  # before anything is stored
    store, staged = context.documents(), []
    try:
        for upload in uploads:
            staged.append(_stage(upload))
        stored = store.place(staged)
    except BaseException:
        store.discard(staged)
        raise
    documents = [actions.DocumentFile(kind=k, name=d.name, sha256=d.sha256, size=d.size)
                 for k, d in zip(kinds, stored, strict=True)]
    if len(documents) == 1:  # the Update every worker version knows
        one = actions.AddDocument(actor=actor, **documents[0].model_dump())
        result: RequestState = await _update(state.id, InterdistrictPermitWorkflow.add_document,
                                             one, RequestState)
        return result
    packet = actions.AddDocuments(actor=actor, documents=documents)
    result = await _update(state.id, InterdistrictPermitWorkflow.add_documents, packet,
                           RequestState)
    return result


# ---- withdrawing ----------------------------------------------------------------------------


async def withdraw(parent: Parent, request_id: str) -> RequestState | WithinRequestState:
    """Withdraw an open request of either process (a placed one is its permit's now)."""
    state = _own(parent, request_id)
    if isinstance(state, WithinRequestState) and state.stage is WithinStage.placed:
        raise Refused(PLACED)
    if not state.is_open:
        raise Refused(CLOSED)
    actor = _acting_as(parent, state.request.district)
    note = "withdrawn by the parent on the portal"
    if isinstance(state, WithinRequestState):
        from workflows.within_request import WithinRequestWorkflow

        within: WithinRequestState = await _update(
            state.id, WithinRequestWorkflow.withdraw, WithdrawWithin(actor=actor, reason=note),
            WithinRequestState)
        return within
    from workflows.interdistrict_permit import InterdistrictPermitWorkflow

    result: RequestState = await _update(state.id, InterdistrictPermitWorkflow.withdraw,
                                         actions.Withdraw(actor=actor, note=note), RequestState)
    return result


# ---- an offer ------------------------------------------------------------------------------


async def answer_offer(parent: Parent, request_id: str, accept: bool) -> Offer:
    """Accept or decline the seat offered; the lottery refuses an answer after the offer's
    last day (its ledger's own clock)."""
    from workflows.lottery import LotteryWorkflow

    state = _own(parent, request_id)
    if (not isinstance(state, WithinRequestState) or state.stage is not WithinStage.offered
            or state.lottery_id is None):
        raise Refused(NO_OFFER)
    actor = _acting_as(parent, state.request.district)
    answer = OfferAnswer(application_id=state.id, actor=actor)
    update_ = LotteryWorkflow.accept_offer if accept else LotteryWorkflow.decline_offer
    offer: Offer = await _update(state.lottery_id, update_, answer, Offer)
    return offer
