"""Notices as the workflows build them: the facts each template is given (interdistrict,
within-district, permit), every notice kind's facts and the words its rendering must hold,
the templates' folder, and reading a sent message back."""

from __future__ import annotations

import email
import email.policy
import io
from datetime import date
from email.message import EmailMessage
from typing import Any

from models.decisions import DENIAL_REASON_TEXT, DenialReason
from models.documents import DocumentKind
from models.notices import NoticeKind
from rules import calendar
from rules.documents import DOCUMENT_LABELS
from tests.support.paths import ROOT

TEMPLATES = ROOT / "activities" / "templates"


# ---- facts as the workflow builds them ---------------------------------------------------

RECEIVED = date(2027, 3, 1)


def common_facts(direction: str = "out", missing: list[str] | None = None) -> dict[str, Any]:
    """As InterdistrictPermitWorkflow._common_facts builds them."""
    district = "Paramount Unified School District"
    other = "Downey Unified School District"
    if direction == "out":
        text = f"out of {district} to {other}"
    else:
        text = f"into {district} from {other}"
    return {
        "request_id": "PUSD-2027-0001",
        "district_name": district,
        "contact": "Pupil Services Department, 562-602-6035",
        "student_name": "Ana Lopez",
        "parent_name": "Maria Lopez",
        "school_year": "2027-2028",
        "direction": direction,
        "direction_text": text,
        "other_district": other,
        "appeal_body": "the Los Angeles County Office of Education (LACOE)",
        "reapply_annually": False,
        "missing": missing or [],
        "stage": "under_review",
        "decision_due": calendar.long_date(date(2027, 3, 31)),
        "statutory_due": calendar.long_date(date(2027, 8, 25)),
    }


def appeal_facts(may_appeal: bool = True) -> dict[str, Any]:
    return {
        "appeal_deadline": calendar.long_date(date(2027, 4, 14)),
        "may_appeal": may_appeal,
        "no_appeal_reason": "" if may_appeal else (
            "The student may not appeal: the student may not appeal while expulsion "
            "proceedings are pending."
        ),
    }


def within_facts(**more: Any) -> dict[str, Any]:
    """What the within-district request workflow passes (Rule 5110.1)."""
    return {
        "request_id": "millard-2027-2028-within-0a1b2c3d4e5f",
        "district_name": "Millard Public Schools",
        "contact": "Office of Student Services, 402-715-8200",
        "student_name": "Sam Novak",
        "parent_name": "Jo Novak",
        "school_year": "2027-2028",
        "school": "Norris Elementary School",
        "program": "montessori",
        "grade": "grade 1",
        "home_school": "Abbott Elementary School",
        "stage": "in_lottery",
        "kind": "next_year",
        "waitlist_position": None,
        "offer_deadline": "",
        "level_ends": calendar.long_date(date(2032, 6, 30)),
        "reason": "",
        **more,
    }


def permit_facts(**more: Any) -> dict[str, Any]:
    """What the permit workflow passes (workflows/permit.py)."""
    return {
        "request_id": "PUSD-2027-0001",
        "permit_id": "PERMIT-PUSD-2027-0001",
        "district_name": "Paramount Unified School District",
        "contact": "Pupil Services Department, 562-602-6035",
        "student_name": "Ana Lopez",
        "parent_name": "Maria Lopez",
        "school_year": "2027-2028",
        "next_school_year": "2028-2029",
        "school": "Hollydale Elementary School",
        "grade": 5,
        "stage": "active",
        "reason": "",
        "ended_on": "",
        "level_ends": calendar.long_date(date(2028, 6, 30)),
        **more,
    }


MISSING = [DOCUMENT_LABELS[DocumentKind.pay_stub], DOCUMENT_LABELS[DocumentKind.employer_letter]]

# Each kind with the facts the workflow passes, and what the notice must say.
CASES: dict[NoticeKind, tuple[dict[str, Any], list[str]]] = {
    NoticeKind.receipt: (
        {**common_facts(missing=MISSING), "received_on": "Monday, March 1, 2027"},
        ["Monday, March 1, 2027", "PUSD-2027-0001", "out of Paramount Unified School District "
         "to Downey Unified School District", "2027-2028", "documents listed in our next notice"],
    ),
    NoticeKind.missing_documents: (
        {**common_facts(missing=MISSING), "missing": MISSING,
         "documents_due": "Monday, March 15, 2027"},
        ["Monday, March 15, 2027", *MISSING, "deemed abandoned"],
    ),
    NoticeKind.file_complete: (
        {**common_facts(), "decision_due": "Friday, April 16, 2027"},
        ["is complete: our decision by Friday, April 16, 2027", "it is now\nunder review",
         "no later than Friday, April 16, 2027"],
    ),
    NoticeKind.approved: (
        {**common_facts(), "permit_id": "PERMIT-PUSD-2027-0001", "school": "Paramount High"},
        ["PERMIT-PUSD-2027-0001", "School assignment: Paramount High",
         "Take this permit to the district of enrollment, Downey Unified School District",
         "valid once that district endorses it (Education Code 46600(a)(3))",
         "Transportation is the parent's responsibility",
         "The permit is attached to this e-mail as a PDF, with its verification code"],
    ),
    NoticeKind.denied: (
        {**common_facts(), **appeal_facts(), "letter_date": "Tuesday, March 16, 2027",
         "reasons": [DENIAL_REASON_TEXT[DenialReason.no_space],
                     DENIAL_REASON_TEXT[DenialReason.false_information]]},
        ["Tuesday, March 16, 2027", "Wednesday, April 14, 2027",
         DENIAL_REASON_TEXT[DenialReason.no_space],
         DENIAL_REASON_TEXT[DenialReason.false_information],
         "within 30 calendar days", "the Los Angeles County Office of Education (LACOE)"],
    ),
    NoticeKind.deemed_denied: (
        {**common_facts(), **appeal_facts(),
         "statutory_due": calendar.long_date(date(2027, 8, 25))},
        ["Wednesday, August 25, 2027", "Wednesday, April 14, 2027", "Education Code 46600.1",
         "the Los Angeles County Office of Education (LACOE)"],
    ),
    NoticeKind.abandoned: (
        {**common_facts(), "why": "the documents were not received",
         "deadline": "Monday, March 15, 2027"},
        ["the documents were not received by Monday, March 15, 2027", "may not be appealed"],
    ),
    NoticeKind.withdrawn: (
        {**common_facts(), "today": "Friday, March 5, 2027"},
        ["withdrawn on\nFriday, March 5, 2027", "PUSD-2027-0001"],
    ),
    NoticeKind.release_refused: (
        common_facts(direction="into"),
        ["Downey Unified School District, the district of residence, did not release Ana Lopez",
         "2027-2028", "may not be appealed to the county"],
    ),
    NoticeKind.appeal_received: (
        {**common_facts(), "filed_on": "Thursday, April 1, 2027",
         "appeal_decision_due": "Saturday, May 1, 2027"},
        ["Thursday, April 1, 2027", "Saturday, May 1, 2027", "(LACOE)"],
    ),
    NoticeKind.provisional_started: (
        {**common_facts("into"), "first_attended": "Monday, August 16, 2027",
         "provisional_last_day": "Tuesday, October 12, 2027"},
        ["Monday, August 16, 2027", "Tuesday, October 12, 2027", "46603",
         "Downey Unified School District"],
    ),
    NoticeKind.provisional_ended: (
        {**common_facts("into"), "provisional_last_day": "Tuesday, October 12, 2027"},
        ["Tuesday, October 12, 2027", "enroll Ana Lopez in Downey Unified School District",
         "46603"],
    ),
    NoticeKind.appeal_upheld: (
        common_facts(),
        ["upheld the denial of request PUSD-2027-0001", "final"],
    ),
    NoticeKind.appeal_granted: (
        {**common_facts(), "permit_id": "PERMIT-PUSD-2027-0001", "school": ""},
        ["granted the appeal of request PUSD-2027-0001",
         "Permit PERMIT-PUSD-2027-0001 is issued for school year 2027-2028",
         "The permit is attached to this e-mail as a PDF"],
    ),
    NoticeKind.staff_reminder: (
        common_facts(),
        ["due by Wednesday, March 31, 2027", "statutory deadline Wednesday, August 25, 2027",
         "transfers decide PUSD-2027-0001"],
    ),
    NoticeKind.staff_escalation: (
        {**common_facts(), "what": "is overdue",
         "detail": "The district promised a decision by Wednesday, March 31, 2027."},
        ["ESCALATION: PUSD-2027-0001 is overdue", "promised a decision by Wednesday, March 31",
         "transfers show PUSD-2027-0001"],
    ),
    NoticeKind.staff_endorsement_reminder: (
        permit_facts(other_district="Downey Unified School District",
                     stage="awaiting_endorsement", overdue=False,
                     endorsement_due=calendar.long_date(date(2027, 4, 30))),
        ["Reminder: permit PERMIT-PUSD-2027-0001 awaits the endorsement of Downey Unified "
         "School District, due Friday, April 30, 2027", "46600(a)(3)",
         "transfers permit endorse PERMIT-PUSD-2027-0001"],
    ),
    NoticeKind.staff_agreement_ending: (
        {"request_id": "agreement-paramount-downey-2029-2030",
         "district_name": "Paramount Unified School District", "district_id": "paramount",
         "partner": "Downey Unified School District", "first_school_year": "2025-2026",
         "last_school_year": "2029-2030", "following_school_year": "2030-2031",
         "last_day": calendar.long_date(date(2030, 6, 30))},
        ["The agreement with Downey Unified School District ends on Sunday, June 30, 2030",
         "2025-2026 through 2029-2030", "46600(a)(1)", "for 2030-2031",
         "districts/paramount.toml", "agreement-paramount-downey-2029-2030"],
    ),
    NoticeKind.within_receipt: (
        within_facts(),
        ["received your within-district transfer request for Sam Novak",
         "grade 1 of the\nmontessori program at Norris Elementary School", "March 1"],
    ),
    NoticeKind.within_placed: (
        within_facts(stage="placed"),
        ["approved the transfer of Sam Novak", "through Wednesday, June 30, 2032", "IV.D",
         "returns to Abbott Elementary School (IV.A)",
         "The permit is attached to this e-mail as a PDF"],
    ),
    NoticeKind.within_waitlisted: (
        within_facts(stage="waitlisted", waitlist_position=3),
        ["Sam Novak is number 3 on the waitlist", "position 3 of the waitlist",
         "portal (below) shows\nyour place in line",
         "https://portal.example.org/requests/millard-2027-2028-within-0a1b2c3d4e5f"],
    ),
    NoticeKind.within_denied: (
        within_facts(stage="denied", reason="grade 1 of the core program at Norris Elementary "
                     "School is not open to within-district transfers (VII)"),
        ["denied the request for Sam Novak", "Reason: grade 1 of the core program at Norris",
         "remains assigned to Abbott Elementary School"],
    ),
    NoticeKind.within_offer: (
        within_facts(stage="offered", offer_deadline=calendar.long_date(date(2027, 5, 11))),
        ["A seat is offered to Sam Novak at Norris Elementary School",
         "no later than Tuesday, May 11, 2027", "passes to the next student in line"],
    ),
    NoticeKind.within_offer_expired: (
        within_facts(stage="offer_expired", reason="not accepted by the end of 2027-05-11"),
        ["has passed on", "not accepted by the deadline", "2027-05-11"],
    ),
    NoticeKind.within_declined: (
        within_facts(stage="declined"),
        ["You declined the seat offered to Sam Novak", "passes to the next student in line"],
    ),
    NoticeKind.within_withdrawn: (
        within_facts(stage="withdrawn"),
        ["request withdrawn for Sam Novak", "A new request may be made"],
    ),
    NoticeKind.permit_renewal_open: (
        permit_facts(stage="renewal_due", deadline=calendar.long_date(date(2028, 3, 31))),
        ["Renew the permit of Ana Lopez for 2028-2029 by Friday, March 31, 2028",
         "The last day to renew is\nFriday, March 31, 2028", "lapses"],
    ),
    NoticeKind.permit_lapsed: (
        permit_facts(stage="lapsed", reason="not renewed for 2028-2029 by Friday, March 31, 2028"),
        ["has lapsed", "not renewed for 2028-2029", "ends with school year 2027-2028"],
    ),
    NoticeKind.permit_level_ending: (
        permit_facts(),
        ["ends with this school year", "on Friday, June 30, 2028", "needs a new request"],
    ),
    NoticeKind.permit_ended: (
        permit_facts(stage="moved", ended_on=calendar.long_date(date(2027, 11, 3)),
                     reason="the family moved to Downey USD, the new district of residence"),
        ["has ended", "ended on Wednesday, November 3, 2027", "Downey USD"],
    ),
    NoticeKind.permit_revoked: (
        permit_facts(stage="revoked", ended_on=calendar.long_date(date(2027, 11, 3)),
                     reason="the student repeatedly failed to abide by attendance policies"),
        ["has been revoked", "attendance policies", "may not be appealed"],
    ),
}


STAFF_KINDS = {NoticeKind.staff_reminder, NoticeKind.staff_escalation,
               NoticeKind.staff_endorsement_reminder, NoticeKind.staff_agreement_ending}
PARENT_KINDS = [k for k in NoticeKind if k not in STAFF_KINDS]
# The link to the request's page that the activity adds to a parent's facts.
for _kind in PARENT_KINDS:
    _facts = CASES[_kind][0]
    _facts["portal_link"] = f"https://portal.example.org/requests/{_facts['request_id']}"


def parse(data: bytes) -> EmailMessage:
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def pdf_text(pdf: bytes) -> str:
    """The words of a PDF (a permit's), read back with pypdf, runs of white space as one."""
    assert pdf.startswith(b"%PDF-"), pdf[:20]
    from pypdf import PdfReader  # a test dependency: only the tests that read a PDF need it

    reader = PdfReader(io.BytesIO(pdf))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


def permit_code_in_store(engine: Any, district: str, permit_id: str) -> str:
    """The verification code the portal's /verify accepts for ``permit_id``."""
    from rules.permit_codes import key_name, printed_code
    from store.secrets import secret

    return printed_code(secret(engine, key_name(district)), permit_id)
