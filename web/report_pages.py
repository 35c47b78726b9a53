"""The district's figures: the dashboard (a school year in charts drawn on the server, each
with its table) and the exports (CSV of requests and of placements for the SIS), for the
signed-in person's districts only; the application layer decides who may export."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from app import dashboard, exports, permissions
from app.errors import REFUSALS
from app.principal import Principal
from web import charts, labels
from web.pages import render, speaker
from web.security import SignedIn

router = APIRouter()

EXPORTS = {"requests": exports.requests_csv, "placements": exports.placements_csv}


def _district_and_year(principal: Principal, district: str, year: str
                       ) -> tuple[list[str], str, list[str], str]:
    """The person's districts, the one asked for (the first by default; another is not
    found), its school years and the one asked for (the current by default)."""
    mine = permissions.districts(principal)
    if not mine:
        raise HTTPException(404, "no district's roster has your address")
    chosen = district or mine[0]
    if chosen not in mine:
        raise HTTPException(404, f"no district {chosen!r}")
    years, current = dashboard.school_years(chosen)
    return mine, chosen, years, year or current


@router.get("/dashboard", name="dashboard")
def dashboard_page(request: Request, principal: SignedIn, district: str = "",
                   year: str = "") -> Response:
    mine, chosen, years, year = _district_and_year(principal, district, year)
    try:
        figures = dashboard.dashboard(principal, chosen, year)
    except REFUSALS as refusal:
        raise HTTPException(400, str(refusal)) from None
    says = speaker(request)
    drawn = charts.dashboard_charts(figures, says.gettext, labels.figure_namer(says.gettext))
    return render(request, "dashboard.html", figures=figures, charts=drawn, districts=mine,
                  district=chosen, years=years, year=year)


@router.get("/exports", name="exports")
def exports_page(request: Request, principal: SignedIn, district: str = "",
                 year: str = "") -> Response:
    mine, chosen, years, year = _district_and_year(principal, district, year)
    return render(request, "exports.html", districts=mine, district=chosen, years=years,
                  year=year, kinds=list(EXPORTS))


@router.get("/exports/{kind}.csv", name="export")
def export(kind: str, principal: SignedIn, district: str = "", year: str = "") -> Response:
    make = EXPORTS.get(kind)
    if make is None:
        raise HTTPException(404, f"no export {kind!r}")
    _mine, chosen, _years, year = _district_and_year(principal, district, year)
    try:
        made = make(principal, chosen, year)
    except REFUSALS as refusal:
        raise HTTPException(403, str(refusal)) from None
    # A download, never a page of the console's origin; the warnings name requests, not
    # students, and travel in a header a district's script can read.
    headers = {"Content-Disposition": f'attachment; filename="{made.filename}"'}
    if made.warnings:
        headers["X-Export-Warnings"] = str(len(made.warnings))
    return Response(made.text, media_type="text/csv; charset=utf-8", headers=headers)
