"""The permit as a PDF for a reader to download (docs/permits.md "The permit as a PDF"): a
parent from their request's page on the portal, staff from the permit's page in the console.

The same document the approval's notice attached (`activities/permit_pdf.py`), made from the
request's record, its approval's day and the district's code key; while the permit's own
record says it lives on, with the school year and grade it is in now, so a parent prints the
current year's. A permit that has ended has no download: the paper would say it holds, and
the verification code says otherwise."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from activities import permit_pdf
from app import context, parents
from app.errors import Refused
from app.parent_signin import Parent
from models.permits import PermitState
from models.within_request import WithinRequestState
from store import permits as permit_store
from store import records
from store.records import AnyState
from store.secrets import secret

NO_PERMIT = "no permit for this request"


@dataclass(frozen=True)
class PermitFile:
    name: str
    media_type: str
    content: bytes


def _school_name(state: AnyState) -> str:
    """The school's name as the approval's notice gave it (the district file's)."""
    if isinstance(state, WithinRequestState):
        school: str | None = state.request.school
    else:
        school = state.assigned_school
    if not school:
        return ""
    try:
        found = context.district(state.request.district).school(school)
    except (Refused, ValueError):
        found = None
    return found.name if found is not None else school


def _district_name(district_id: str) -> str:
    try:
        return context.district(district_id).name
    except (Refused, ValueError):
        return district_id


def document(state: AnyState) -> permit_pdf.PermitDocument | None:
    """The permit ``state``'s request issued, for its current school year; None when it
    issued none or its permit has ended."""
    engine = context.engine()
    district = state.request.district
    found = permit_pdf.from_request(
        state, records.get_history(engine, state.id) or state.history,
        district_name=_district_name(district), school_name=_school_name(state),
        key=secret(engine, permit_pdf.code_key_name(district)),
    )
    if found is None:
        return None
    permit = permit_store.get_permit(engine, found.permit_id)
    if permit is None:  # its workflow has not written it yet: the permit as issued
        return found
    if not permit.is_active:
        return None
    return dataclasses.replace(found, school_year=permit.school_year, grade=permit.grade)


def _file(found: permit_pdf.PermitDocument, language: str) -> PermitFile:
    verify = f"{context.settings().portal_url}/verify"
    return PermitFile(permit_pdf.file_name(found), permit_pdf.MEDIA_TYPE,
                      permit_pdf.render_pdf(found, language, verify))


def for_parent(parent: Parent, request_id: str, language: str) -> PermitFile:
    """The permit of one of the parent's requests, in ``language``; "no such request" for
    another family's id (as `app/parents.py::request_of`), "no permit" for one that has
    none."""
    found = document(parents.state_of(parent, request_id))
    if found is None:
        raise Refused(NO_PERMIT)
    return _file(found, language)


def for_staff(permit: PermitState, language: str | None = None) -> PermitFile:
    """The permit ``permit`` (one the staff member may see: the console checks), in
    ``language``, else the parent's."""
    state = records.get_request(context.engine(), permit.request_id)
    found = document(state) if state is not None else None
    if found is None:
        raise Refused(NO_PERMIT)
    return _file(found, language or permit.holder.language)
