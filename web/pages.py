"""Drawing a page: the Jinja2 templates of ``web/templates`` with what every page says (its
language, the person signed in, the forms' security token) and the console's headers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from app.principal import Principal
from web import labels
from web.i18n import COOKIE, LANGUAGES, Speaker, negotiate
from web.security import CSRF_FIELD, csrf_token

TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
    # The templates ship with the code: not looked at on disk again for every page (a
    # status page's three were a twentieth of its CPU, bench/portal.py).
    auto_reload=False,
)

# What the console's responses say to the browser: no caching of student data, no framing,
# scripts and forms of this origin only.
HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": ("default-src 'self'; frame-ancestors 'none'; form-action 'self'; "
                                "base-uri 'none'; object-src 'none'"),
}


def speaker(request: Request) -> Speaker:
    return Speaker(negotiate(request.cookies.get(COOKIE), request.headers.get("accept-language")))


def render(request: Request, template: str, status: int = 200, **values: Any) -> HTMLResponse:
    says = speaker(request)

    def label(table: dict[str, str], code: object) -> str:
        text = table.get(str(code))
        return says.gettext(text) if text else labels.plain(str(code))

    principal: Principal | None = getattr(request.state, "principal", None)
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    page = TEMPLATES.get_template(template).render(
        _=says.gettext, gettext=says.gettext, ngettext=says.ngettext, says=says,
        lang=says.language, languages=LANGUAGES, principal=principal,
        csrf_field=CSRF_FIELD, csrf=csrf_token(request), here=here, labels=labels,
        request_path=request.url.path,
        layout=getattr(request.app.state, "layout", "base.html"),
        label=label, **values,
    )
    return HTMLResponse(page, status_code=status)


def download(name: str, media_type: str, content: bytes) -> Response:
    """A file to save (a permit's PDF), with the pages' headers: it holds student data."""
    return Response(content, media_type=media_type, headers={
        **HEADERS, "Content-Disposition": f'attachment; filename="{name}"',
    })
