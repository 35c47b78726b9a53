"""The parent portal's pages (docs/portal.md): its home, which says what a parent can do here
and where the district's public pages are."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from web.pages import render

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> HTMLResponse:
    return render(request, "portal/home.html")
