"""The parent portal's public pages, for anyone without signing in (docs/portal.md): each
district's transfer policy (EC 46600.2: posted without a password), a lottery's sealed seed
and released result, and the verification of a permit's code by another district's staff.
Everything comes from the application layer (app.policy, app.lottery, app.permit_codes)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from app import lottery, permit_codes, policy
from app.errors import REFUSALS
from web import public_labels
from web.i18n import today_in
from web.pages import render
from web.security import CheckedForm

router = APIRouter()

CODE_MAX = 64  # a typed code longer than this is not one; not read further


@router.get("/policy", response_class=HTMLResponse, name="policies")
def policies(request: Request) -> HTMLResponse:
    return render(request, "portal/policies.html", districts=policy.districts())


@router.get("/policy/{district}", response_class=HTMLResponse, name="policy")
def district_policy(request: Request, district: str) -> HTMLResponse:
    try:
        zone = policy.timezone_of(district)
        found = policy.policy(district, today_in(zone))
    except REFUSALS:
        raise HTTPException(404, f"no district {district!r}") from None
    return render(request, "portal/policy.html", policy=found, words=public_labels)


@router.get("/lottery/{district}/{school_year}", response_class=HTMLResponse, name="lottery")
async def lottery_page(request: Request, district: str, school_year: str) -> HTMLResponse:
    try:
        zone = policy.timezone_of(district)
        shown = await lottery.public(district, school_year)
    except REFUSALS:
        raise HTTPException(404, f"no lottery of {district!r} for {school_year!r}") from None
    return render(request, "portal/lottery.html", lottery=shown, timezone=zone,
                  words=public_labels)


@router.get("/verify", response_class=HTMLResponse, name="verify")
def verify_form(request: Request) -> HTMLResponse:
    return render(request, "portal/verify.html", words=public_labels, typed="", checked=None,
                  tried=False)


@router.post("/verify", response_class=HTMLResponse)
def verify_code(request: Request, form: CheckedForm) -> HTMLResponse:
    # A POST, so that codes stay out of addresses, histories and access logs.
    typed = str(form.get("code") or "").strip()[:CODE_MAX]
    try:
        checked = permit_codes.check(typed) if typed else None
    except REFUSALS as refusal:
        raise HTTPException(503, str(refusal)) from None
    return render(request, "portal/verify.html", words=public_labels, typed=typed,
                  checked=checked, tried=True)
