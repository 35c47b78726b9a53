"""Permits in the console: the list of the person's districts' permits with its filters
(school year, school, stage, renewals due), a permit's page with its year's events, and the
two actions staff take on one (revoke it with the seed's reasons; record its renewal while it
is due), each confirmed first, each refusal shown with its reason. A permit of another
district is "not found"."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from app import permissions, permit_codes, permit_document, permits
from app.errors import REFUSALS
from app.principal import Principal
from models.permits import PermitStage, PermitState
from rules.permits import next_school_year
from rules.revocation import RevocationReason
from web.pages import download, render
from web.security import CheckedForm, SignedIn

router = APIRouter()


async def _visible(principal: Principal, permit_id: str) -> PermitState:
    try:
        state, _ = await permits.get(permit_id)
    except REFUSALS:
        state = None
    if state is None or state.district not in permissions.districts(principal):
        raise HTTPException(404, f"no permit {permit_id!r}")
    return state


@router.get("/permits", name="permits")
def permit_list(request: Request, principal: SignedIn, year: str = "", school: str = "",
                stage: str = "") -> Response:
    rows: list[Any] = []
    for district in permissions.districts(principal):
        rows += permits.list_permits(district=district, school_year=year or None,
                                     school=school or None)
    if stage:
        rows = [row for row in rows if row.stage == stage]
    return render(request, "permits.html", rows=rows, year=year, school=school, stage=stage,
                  stages=[s.value for s in PermitStage])


def _page(request: Request, principal: Principal, state: PermitState, status: int = 200,
          **values: Any) -> Response:
    return render(request, "permit.html", status, permit=state,
                  actions=permissions.permit_actions(principal, state),
                  reasons=[r.value for r in RevocationReason],
                  timezone=permits.timezone_of(state),
                  verification_code=permit_codes.permit_code(state),  # docs/portal.md
                  next_year=next_school_year(state.school_year), **values)


@router.get("/permits/{permit_id}", name="permit")
async def permit_page(request: Request, permit_id: str, principal: SignedIn,
                      done: str = "") -> Response:
    return _page(request, principal, await _visible(principal, permit_id), done=done)


@router.get("/permits/{permit_id}/permit.pdf", name="permit_pdf")
async def permit_pdf(permit_id: str, principal: SignedIn) -> Response:
    """The permit to print, in the parent's language (docs/permits.md "The permit as a
    PDF"); one of another district is "not found", as on its page."""
    state = await _visible(principal, permit_id)
    try:
        found = permit_document.for_staff(state)
    except REFUSALS as refusal:
        raise HTTPException(404, str(refusal)) from None
    return download(found.name, found.media_type, found.content)


@router.post("/permits/{permit_id}/actions/{action}", name="permit_act")
async def permit_act(request: Request, permit_id: str, action: str, form: CheckedForm,
                     principal: SignedIn) -> Response:
    state = await _visible(principal, permit_id)
    try:
        permissions.check_permit_action(principal, state, action)
    except REFUSALS as refusal:
        raise HTTPException(403, str(refusal)) from None
    reasons = form.getlist("reasons")
    note = str(form.get("note") or "").strip()
    if form.get("confirm") != "yes":
        return render(request, "permit_confirm.html", permit=state, action=action,
                      reasons=reasons, note=note,
                      school_year=str(form.get("school_year") or ""))
    try:
        if action == permissions.PERMIT_REVOKE:
            unknown = [r for r in reasons if r not in RevocationReason.__members__]
            if unknown:
                raise HTTPException(400, f"unknown revocation reason {unknown[0]!r}")
            await permits.revoke(permit_id, principal, [RevocationReason(r) for r in reasons],
                                 note)
        else:
            await permits.renew(permit_id, principal, str(form.get("school_year") or ""))
    except REFUSALS as refusal:
        return _page(request, principal, await _visible(principal, permit_id), 409,
                     refusal=str(refusal), refused_action=action)
    return RedirectResponse(f"/permits/{permit_id}?done={action}", status_code=303)
