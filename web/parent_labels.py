"""The parent portal's words for the application's codes: a request's stage and its deadlines
in plain words, as a family reads them (the console's are staff's, `web/labels.py`)."""

from __future__ import annotations

from web.labels import N_

STAGES = {
    "submitted": N_("Received: the district has your request"),
    "awaiting_documents": N_("Waiting for your documents"),
    "awaiting_release": N_("Waiting for your district of residence to release your student"),
    "under_review": N_("The district is reviewing your request"),
    "deemed_denied": N_("Not decided in time: this counts as a denial, which you may appeal"),
    "approved": N_("Approved"),
    "denied": N_("Denied: you may appeal to the county"),
    "appeal_pending": N_("Your appeal is with the county"),
    "denied_final": N_("Denied (final)"),
    "abandoned": N_("Closed: no answer came in time"),
    "withdrawn": N_("Withdrawn"),
    "release_refused": N_("Your district of residence did not release your student"),
    "awaiting_recommendation": N_("The district is gathering its staff's recommendations"),
    "in_lottery": N_("In the lottery: waiting for the draw"),
    "waitlisted": N_("On the waiting list"),
    "offered": N_("A seat is offered to your student"),
    "placed": N_("Placed: your student has the seat"),
    "declined": N_("You declined the offer"),
    "offer_expired": N_("The offer expired"),
}

# rules/request_deadlines.py's kinds, as what the family waits for or must do.
DEADLINES = {
    "documents": N_("Send the missing documents"),
    "release": N_("Your district of residence answers"),
    "decision": N_("The district decides"),
    "statutory": N_("The district must decide by law"),
    "appeal": N_("Last day to appeal to the county"),
    "county": N_("The county decides your appeal"),
    "offer": N_("Last day to accept the offer"),
    "recommendation": N_("Staff recommendations"),
}

WAITS_ON = {"staff": N_("The district"), "parent": N_("You"), "county": N_("The county"),
            "other_district": N_("Your district of residence")}

# The documents a request may miss (models/documents.py's kinds).
DOCUMENTS = {
    "release_from_residence": N_("Release from your district of residence"),
    "reason_evidence": N_("Proof of the reason for the transfer"),
    "report_card": N_("Report card"),
    "discipline_report": N_("Discipline report"),
    "attendance_record": N_("Attendance record"),
    "iep_or_504": N_("IEP or 504 plan"),
    "bullying_complaint": N_("Bullying complaint"),
    "bullying_investigation_report": N_("Bullying investigation report"),
    "pay_stub": N_("Pay stub"),
    "employer_letter": N_("Letter from the employer"),
    "self_employment_letter": N_("Self-employment letter"),
    "business_license": N_("Business license"),
    "child_care_provider_letter": N_("Letter from the child care provider"),
    "child_care_boundary_proof": N_("Proof the child care is in the district"),
    "child_care_parent_letter": N_("Parent's letter about child care"),
    "escrow_or_lease": N_("Escrow papers or a lease"),
    "student_enrollment_record": N_("Student's enrollment record"),
    "sibling_enrollment_record": N_("Sibling's enrollment record"),
}

# app/parent_signin.py's refusals, word for word (the page translates the application's).
SIGN_IN_REFUSALS = [
    N_("Enter your email address."),
    N_("Three codes were sent to this address in the last 15 minutes: use the last one, or "
       "wait."),
    N_("No code was sent to this address: ask for one."),
    N_("That code is not right: check it and try again. After five wrong tries, ask for a new "
       "code."),
    N_("That code no longer works (used, expired or tried too often): ask for a new one."),
]

# What a parent's action did (web/parent_actions.py), said on the request's page after it.
DONE = {
    "documents": N_("Thank you: your documents were received."),
    "withdrawn": N_("Your request was withdrawn."),
    "accepted": N_("You accepted the seat. The district will confirm the placement."),
    "declined": N_("You declined the seat."),
}
