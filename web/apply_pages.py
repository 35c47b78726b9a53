"""The portal's application forms (docs/portal.md "Parents applying"): a signed-in parent
applies for a permit between districts or a school within the district. The forms are
server-rendered and work without JavaScript; htmx only refreshes the document checklist when
the reason changes. Every check is the application layer's (`app.applications`, which runs
the CLI's intake); each refusal is shown beside the field it names, in the page's language
(`web.intake_labels`)."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from app import applications
from app.applications import FORM, NotApplied
from app.errors import REFUSALS
from web import intake_labels, labels, public_labels
from web.labels import N_
from web.pages import render, speaker
from web.parent_pages import SignedInParent
from web.security import CSRF_FIELD, CheckedForm

router = APIRouter()

# EC 46600.1: who may request; the last one is refused by intake, saying why.
RELATIONSHIPS = {
    "natural_parent": N_("Parent (natural)"),
    "adoptive_parent": N_("Adoptive parent"),
    "legal_custodian": N_("Legal guardian (legal custody)"),
    "educational_rights_holder": N_("Educational rights holder"),
    applications.NOT_A_PARENT: N_("Another relative or adult (grandparent, aunt, neighbour...)"),
}
WINDOW_KINDS = {"next_year": N_("next school year's applications"),
                "reopened": N_("applications reopened, first come, first served"),
                "current_year": N_("applications for the current school year")}


def _fields(form: FormData | dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in form.items() if isinstance(v, str) and k != CSRF_FIELD}


def _choices(request: Request, parent: SignedInParent, district_id: str
             ) -> applications.Choices:
    try:
        return applications.choices(parent, district_id)
    except (*REFUSALS, ValueError):
        raise HTTPException(404, speaker(request).gettext("No such district.")) from None


def _form_page(request: Request, found: applications.Choices, fields: dict[str, str],
               errors: dict[str, str] | None = None, status: int = 200,
               opens: date | None = None, refreshed: bool = False) -> Response:
    within = found.district.process == applications.WITHIN
    says = speaker(request)
    # Intake's English, and the application layer's own, in the page's language.
    errors = {name: intake_labels.said(message, says) for name, message in (errors or {}).items()}
    checklist = applications.checklist(
        fields.get("direction", ""), fields.get("reason", ""),
        fields.get("student.has_iep_or_504") == "on", fields.get("self_employed") == "on")
    return render(request, "portal/apply_within.html" if within
                  else "portal/apply_interdistrict.html", status, choices=found, values=fields,
                  errors=errors, form_error=errors.get(FORM), checklist=checklist,
                  reasons=public_labels.TRANSFER_REASONS, documents=public_labels.DOCUMENTS,
                  programs=public_labels.PROGRAMS, directions=labels.DIRECTIONS,
                  relationships=RELATIONSHIPS, window_kinds=WINDOW_KINDS,
                  grades=list(range(13)), opens=opens, refreshed=refreshed)


@router.get("/apply", name="apply")
def apply_home(request: Request, parent: SignedInParent) -> Response:
    return render(request, "portal/apply.html", districts=applications.districts())


@router.get("/apply/{district_id}")
def apply_form(request: Request, district_id: str, parent: SignedInParent) -> Response:
    found = _choices(request, parent, district_id)
    fields = dict(request.query_params)
    fields.setdefault("parent.name", found.guardian_name)
    return _form_page(request, found, fields)


@router.get("/apply/{district_id}/checklist")
def checklist(request: Request, district_id: str, parent: SignedInParent) -> Response:
    """The checklist alone, for htmx when the reason changes."""
    query = request.query_params
    found = applications.checklist(query.get("direction", ""), query.get("reason", ""),
                                   query.get("student.has_iep_or_504") == "on",
                                   query.get("self_employed") == "on")
    return render(request, "portal/apply_checklist.html", checklist=found,
                  documents=public_labels.DOCUMENTS)


@router.post("/apply/{district_id}")
async def apply(request: Request, district_id: str, form: CheckedForm,
                parent: SignedInParent) -> Response:
    found = _choices(request, parent, district_id)
    fields = _fields(form)
    if fields.get("action") == "checklist":  # without JavaScript: the checklist, nothing sent
        return _form_page(request, found, fields, refreshed=True)
    language = speaker(request).language
    try:
        if found.district.process == applications.WITHIN:
            request_id = await applications.apply_within(parent, district_id, fields, language)
        else:
            request_id = await applications.apply_interdistrict(parent, district_id, fields,
                                                                language)
    except NotApplied as refused:
        return _form_page(request, found, fields, refused.errors, 400, refused.opens)
    return RedirectResponse(f"/requests/{request_id}", status_code=303)
