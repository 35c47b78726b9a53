"""The parent portal's actions (docs/portal.md "Parents acting"): handing in the documents a
request misses, withdrawing a request (after a confirmation), and answering a seat offered
(declining after a confirmation). Each through `app.parent_actions`, which checks the request
is the parent's and signs the action for them; every form carries its CSRF token; another
family's request is "not found" before its body is read."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData, UploadFile

from app import parent_actions, parents
from app.errors import REFUSALS
from app.parent_actions import MAX_DOCUMENT_BYTES, MAX_DOCUMENTS_AT_ONCE, FileRefused, Upload
from app.parents import Status
from web import parent_labels
from web.i18n import today_in
from web.labels import N_
from web.pages import render, speaker
from web.parent_pages import SignedInParent
from web.security import checked_form

router = APIRouter()
FIELD = "document-"  # a file field's name: this prefix and the document kind it is for
FORM_BYTES = 64 * 1024  # the form's own fields and each part's headers, beside the files

# `app.parent_actions`' refusals, in the catalogs (the application says them in English).
REFUSALS_SAID = [
    N_("This request is closed: nothing can be done on it now."),
    N_("That document is not one the request is missing."),
    N_("Choose a file for at least one of the documents."),
    N_("No seat is offered to this request now."),
    N_("This request is placed: ask the district to end the transfer."),
]
FILE_REFUSALS = {
    parent_actions.TOO_LARGE: N_("This file is too large: a document may be at most 25 MB."),
    parent_actions.EMPTY: N_("This file is empty: choose the document itself."),
    parent_actions.NOT_A_DOCUMENT: N_(
        "This file is not a PDF or a photo (JPEG, PNG, HEIC), or it is not what its name says."),
    parent_actions.BAD_NAME: N_("This file's name cannot be used: rename it and try again."),
    parent_actions.UNREADABLE: N_("This file could not be read or stored: try again."),
    "not_missing": N_("That document is not one the request is missing."),
}


def _status(request: Request, parent: SignedInParent, request_id: str) -> Status:
    try:
        return parents.request_of(parent, request_id)
    except REFUSALS:
        raise HTTPException(404, speaker(request).gettext("No such request.")) from None


def _page(request: Request, status: Status, code: int = 200, **values: object) -> Response:
    return render(request, "portal/request.html", code, view=status, words=parent_labels,
                  today=today_in(status.summary.timezone), **values)


def _said(request: Request, refusal: Exception) -> str:
    """A refusal in the page's language: the application's own sentences translated, a
    workflow's reason (its own words) after a translated lead."""
    says = speaker(request)
    text = str(refusal)
    if text in REFUSALS_SAID:
        return says.gettext(text)
    return says.gettext("This could not be done: %(reason)s") % {"reason": text}


def _done(request_id: str, what: str) -> Response:
    return RedirectResponse(f"/requests/{request_id}?done={what}", status_code=303)


def _uploads(form: FormData) -> list[Upload]:
    """The files chosen, one per document field; a field left empty is no file."""
    found = []
    for name, value in form.multi_items():
        if not name.startswith(FIELD) or not isinstance(value, UploadFile):
            continue
        if not value.filename and not value.size:  # nothing chosen for this document
            continue
        found.append(Upload(kind=name.removeprefix(FIELD), name=value.filename or "",
                            size=value.size, source=value.file))
    return found


@router.post("/requests/{request_id}/documents")
async def add_documents(request: Request, request_id: str, parent: SignedInParent) -> Response:
    status = _status(request, parent, request_id)  # another family's: 404, body unread
    # The size said before the body is read: never more than the missing documents' files.
    room = (max(len(status.missing_documents), 1) * MAX_DOCUMENT_BYTES + FORM_BYTES)
    size = request.headers.get("content-length", "")
    if not size.isdigit():  # a browser says it; a body of unknown size is not read
        return _page(request, status, 411, upload_error=speaker(request).gettext(
            "The files came without their size: send them again from this page."))
    if int(size) > min(room, MAX_DOCUMENTS_AT_ONCE * MAX_DOCUMENT_BYTES):
        return _page(request, status, 413, upload_error=speaker(request).gettext(
            "These files are too large together: send at most 25 MB for each document."))
    form = await checked_form(request)
    try:
        uploads = _uploads(form)
        try:
            await parent_actions.add_documents(parent, request_id, uploads)
        except FileRefused as refusal:
            said = speaker(request).gettext(FILE_REFUSALS.get(refusal.code, refusal.code))
            return _page(request, status, 400, file_errors={refusal.kind: said})
        except REFUSALS as refusal:
            return _page(request, status, 400, upload_error=_said(request, refusal))
    finally:
        await form.close()
    return _done(request_id, "documents")


@router.get("/requests/{request_id}/withdraw")
def confirm_withdrawal(request: Request, request_id: str, parent: SignedInParent) -> Response:
    status = _status(request, parent, request_id)
    return render(request, "portal/confirm.html", view=status, words=parent_labels,
                  what="withdraw")


@router.post("/requests/{request_id}/withdraw")
async def withdraw(request: Request, request_id: str, parent: SignedInParent) -> Response:
    status = _status(request, parent, request_id)
    form = await checked_form(request)
    if form.get("confirm") != "yes":  # asked, not yet confirmed: nothing is sent
        return render(request, "portal/confirm.html", view=status, words=parent_labels,
                      what="withdraw")
    try:
        await parent_actions.withdraw(parent, request_id)
    except REFUSALS as refusal:
        return _page(request, status, 409, action_error=_said(request, refusal))
    return _done(request_id, "withdrawn")


@router.post("/requests/{request_id}/offer")
async def answer_offer(request: Request, request_id: str, parent: SignedInParent) -> Response:
    status = _status(request, parent, request_id)
    form = await checked_form(request)
    answer = form.get("answer")
    if answer not in ("accept", "decline"):
        return _page(request, status, 400,
                     action_error=speaker(request).gettext("Choose to accept or decline."))
    if answer == "decline" and form.get("confirm") != "yes":  # a decline is final: asked first
        return render(request, "portal/confirm.html", view=status, words=parent_labels,
                      what="decline")
    try:
        await parent_actions.answer_offer(parent, request_id, accept=answer == "accept")
    except REFUSALS as refusal:
        return _page(request, status, 409, action_error=_said(request, refusal))
    return _done(request_id, "accepted" if answer == "accept" else "declined")
