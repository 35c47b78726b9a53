"""Documents a request needs and the record of one received."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from pathlib import PureWindowsPath

from pydantic import Field

from models.base import Model
from models.errors import PolicyError
from models.text import problem_in


class DocumentKind(StrEnum):
    # Into the district (seed 000, "Be prepared to upload the following").
    release_from_residence = "release_from_residence"
    reason_evidence = "reason_evidence"
    report_card = "report_card"
    discipline_report = "discipline_report"
    attendance_record = "attendance_record"
    iep_or_504 = "iep_or_504"
    # Out of the district: the evidence for each reason (seed 000, "reasons ... out").
    bullying_complaint = "bullying_complaint"
    bullying_investigation_report = "bullying_investigation_report"
    pay_stub = "pay_stub"
    employer_letter = "employer_letter"
    self_employment_letter = "self_employment_letter"
    business_license = "business_license"
    child_care_provider_letter = "child_care_provider_letter"
    child_care_boundary_proof = "child_care_boundary_proof"
    child_care_parent_letter = "child_care_parent_letter"
    escrow_or_lease = "escrow_or_lease"
    student_enrollment_record = "student_enrollment_record"
    sibling_enrollment_record = "sibling_enrollment_record"
    program_material = "program_material"
    program_interest_letter = "program_interest_letter"


class DocumentRecord(Model):
    kind: DocumentKind
    name: str = Field(min_length=1, max_length=255)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0)
    recorded_by: str
    recorded_at: datetime


def check_document_name(name: str) -> str:
    if not name or len(name) > 255:
        raise PolicyError("document name must be 1 to 255 characters")
    problem = problem_in(name)
    if problem:  # a control character, or one that hides what a reader sees (U+202E)
        raise PolicyError(f"document name {name!r} {problem}")
    # Any separator or a dot-only name is refused, even where pathlib would normalise it
    # ("x/", "./x"): the name is shown to staff and parents and must be a plain file name.
    if "/" in name or "\\" in name or PureWindowsPath(name).drive or set(name) <= {"."}:
        raise PolicyError(f"document name {name!r} tries to leave the document store")
    return name
