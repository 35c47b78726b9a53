"""The words the portal's public pages show for the policy's codes (transfer reasons,
documents, tiers, programs, a permit's verified status), marked for the catalogs and
translated when a page is drawn (as ``web.labels`` does for the console)."""

from __future__ import annotations

from web.labels import N_

# Seed 000, "Reasons out" (models/requests.py::TransferReason).
TRANSFER_REASONS = {
    "bullying": N_("The student is a victim of bullying"),
    "parent_employment": N_("A parent's place of employment"),
    "child_care": N_("Child care"),
    "moving": N_("The family is moving"),
    "continuing_enrollment": N_("Continuing enrollment at the same school"),
    "sibling": N_("A sibling attends the school"),
    "specific_program": N_("A specific program not offered here"),
}

# Seed 000's documents (models/documents.py::DocumentKind; rules/documents.py).
DOCUMENTS = {
    "release_from_residence": N_(
        "Approved permit release from the student's district of residence"),
    "reason_evidence": N_("Documentation supporting the reason for the transfer"),
    "report_card": N_("The student's most current report card or transcript"),
    "discipline_report": N_("Most current behavior/discipline report"),
    "attendance_record": N_("Most current attendance record"),
    "iep_or_504": N_("Most current IEP or Section 504 Plan"),
    "bullying_complaint": N_("Complaint filed with the school, district or law enforcement"),
    "bullying_investigation_report": N_(
        "Investigation report showing the student is a victim of bullying"),
    "pay_stub": N_("Most current pay stub (last 30 days) of each parent residing with the "
                   "student"),
    "employer_letter": N_("Employer letter verifying schedule (hours and days) and work "
                          "location"),
    "self_employment_letter": N_("Letter stating schedule (hours and days) and work location"),
    "business_license": N_("Copy of the business license or permit"),
    "child_care_provider_letter": N_(
        "Child care provider letter: name, address, contact, license number and fees, hours "
        "of operation and the hours the child would be in care"),
    "child_care_boundary_proof": N_(
        "Proof the child care facility is within district boundaries"),
    "child_care_parent_letter": N_(
        "Parent letter explaining the need for this child care provider"),
    "escrow_or_lease": N_("Escrow documents or official lease agreement"),
    "student_enrollment_record": N_(
        "The student's last report card and transcript showing enrollment history"),
    "sibling_enrollment_record": N_(
        "The sibling's last report card and transcript showing enrollment history"),
    "program_material": N_("Informational material about the specific program"),
    "program_interest_letter": N_(
        "Parent or student letter on the interest in the program and why it is unavailable "
        "or not comparable in the district of residence"),
}

# Rule 5110.1 VIII.C, first served first (rules/tiers.py::TIER_LABELS).
TIERS = {
    "1": N_("Students of the school's attendance area, special programs by grade"),
    "2a": N_("Other district residents with a sibling at the school"),
    "2b": N_("Other district residents, special programs by grade"),
    "2c": N_("Other district residents, regular program by grade"),
    "3a": N_("Non-resident option enrollment students, special programs"),
    "3b": N_("Non-resident option enrollment students, regular program"),
    "4a": N_("All other non-residents, special programs"),
    "4b": N_("All other non-residents, regular program"),
}

# Rule 5110.1 XI (models/within_district.py::Program).
PROGRAMS = {
    "regular": N_("Regular program"),
    "core": N_("Core"),
    "montessori": N_("Montessori"),
    "ib": N_("International Baccalaureate"),
}

# Rule 5110.1 IV.G (models/within_district.py::SpecialIssue).
SECOND_TRANSFER_ISSUES = {"safety": N_("Safety"), "health": N_("Health"),
                          "program": N_("Program")}

OUTCOMES = {"placed": N_("Placed"), "waitlisted": N_("Waitlisted"), "denied": N_("Denied")}

LOTTERY_STAGES = {
    "collecting": N_("Taking applications"),
    "preview": N_("Drawn, awaiting certification"),
    "certified": N_("Certified and released"),
    "closed": N_("Closed for the school year"),
}

# app/permit_codes.py::PermitCheck.status
PERMIT_STATUS = {
    "active": N_("Valid (active)"),
    "awaiting_endorsement": N_("Issued, valid once endorsed by the district of enrollment"),
    "revoked": N_("Revoked"),
    "expired": N_("Expired: no longer valid"),
}
PROCESSES = {"interdistrict": N_("Interdistrict attendance permit"),
             "within_district": N_("Transfer within the district")}
