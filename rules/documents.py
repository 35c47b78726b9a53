"""The documents a request needs (seed 000)."""

from __future__ import annotations

from models.documents import DocumentKind as D
from models.documents import check_document_name
from models.requests import Direction
from models.requests import TransferReason as R

# A name's check lives with the document model; a content's is rules/content.py (it needs the
# sniffing library, which the workflows that import this module do not).
__all__ = ["check_document_name"]

# Out of the district: the evidence for each reason (seed 000, "What are the reasons the
# PUSD may approve a request out of the District?").
REASON_EVIDENCE: dict[R, tuple[D, ...]] = {
    R.bullying: (D.bullying_complaint, D.bullying_investigation_report),
    R.parent_employment: (D.pay_stub, D.employer_letter),
    R.child_care: (
        D.child_care_provider_letter,
        D.child_care_boundary_proof,
        D.child_care_parent_letter,
    ),
    R.moving: (D.escrow_or_lease,),
    R.continuing_enrollment: (D.student_enrollment_record,),
    R.sibling: (D.sibling_enrollment_record,),
    R.specific_program: (D.program_material, D.program_interest_letter),
}
SELF_EMPLOYED_EVIDENCE: tuple[D, ...] = (D.self_employment_letter, D.business_license)

# Into the district (seed 000, "Be prepared to upload the following"). The release from the
# district of residence is its own stage (awaiting_release), recorded with `transfers release`.
INTO_DOCUMENTS: tuple[D, ...] = (
    D.reason_evidence,
    D.report_card,
    D.discipline_report,
    D.attendance_record,
)


def required_documents(
    direction: Direction, reason: R, has_iep_or_504: bool, self_employed: bool
) -> list[D]:
    if direction is Direction.into:
        required = list(INTO_DOCUMENTS)
        if has_iep_or_504:
            required.append(D.iep_or_504)  # "Most current IEP or Section 504 Plan (if applicable)"
        return required
    if reason is R.parent_employment and self_employed:
        return list(SELF_EMPLOYED_EVIDENCE)
    return list(REASON_EVIDENCE[reason])


def missing_documents(required: list[D], received: list[D]) -> list[D]:
    have = set(received)
    return [kind for kind in required if kind not in have]


DOCUMENT_LABELS: dict[D, str] = {
    D.release_from_residence: "Approved permit release from the student's district of residence",
    D.reason_evidence: "Documentation supporting the reason for the transfer",
    D.report_card: "The student's most current report card or transcript",
    D.discipline_report: "Most current behavior/discipline report",
    D.attendance_record: "Most current attendance record",
    D.iep_or_504: "Most current IEP or Section 504 Plan",
    D.bullying_complaint: "Complaint filed with the school, district or law enforcement",
    D.bullying_investigation_report: (
        "Investigation report showing the student is a victim of bullying (EC 46600)"
    ),
    D.pay_stub: "Most current pay stub (last 30 days) of each parent residing with the student",
    D.employer_letter: "Employer letter verifying schedule (hours and days) and work location",
    D.self_employment_letter: "Letter stating schedule (hours and days) and work location",
    D.business_license: "Copy of the business license or permit",
    D.child_care_provider_letter: (
        "Child care provider letter: name, address, contact, license number and fees, hours "
        "of operation and the hours the child would be in care"
    ),
    D.child_care_boundary_proof: "Proof the child care facility is within district boundaries",
    D.child_care_parent_letter: "Parent letter explaining the need for this child care provider",
    D.escrow_or_lease: "Escrow documents or official lease agreement",
    D.student_enrollment_record: (
        "The student's last report card and transcript showing enrollment history"
    ),
    D.sibling_enrollment_record: (
        "The sibling's last report card and transcript showing enrollment history"
    ),
    D.program_material: "Informational material about the specific program",
    D.program_interest_letter: (
        "Parent or student letter on the interest in the program and why it is unavailable "
        "or not comparable in the district of residence"
    ),
}
