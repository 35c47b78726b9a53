"""The words the console shows for the application's codes (stages, actions, reasons), marked
for the catalogs (``N_``) and translated when a page is drawn. A code without a label is shown
as itself, its underscores as spaces: data, like an id."""

from __future__ import annotations

from collections.abc import Callable


def N_(message: str) -> str:  # noqa: N802 - gettext's conventional marker, read by extraction
    """Marks ``message`` for the catalogs; translated where it is shown."""
    return message


STAGES = {
    "submitted": N_("Submitted"),
    "awaiting_documents": N_("Awaiting documents"),
    "awaiting_release": N_("Awaiting release"),
    "under_review": N_("Under review"),
    "deemed_denied": N_("Deemed denied"),
    "approved": N_("Approved"),
    "denied": N_("Denied"),
    "appeal_pending": N_("Appeal pending"),
    "denied_final": N_("Denied (final)"),
    "abandoned": N_("Abandoned"),
    "withdrawn": N_("Withdrawn"),
    "release_refused": N_("Release refused"),
    "awaiting_recommendation": N_("Awaiting recommendation"),
    "in_lottery": N_("In the lottery"),
    "waitlisted": N_("Waitlisted"),
    "offered": N_("Seat offered"),
    "placed": N_("Placed"),
    "declined": N_("Declined"),
    "offer_expired": N_("Offer expired"),
}

ACTIONS = {
    "record_release": N_("Record the release"),
    "decide": N_("Decide"),
    "file_appeal": N_("Record an appeal filed"),
    "record_appeal_outcome": N_("Record the appeal's outcome"),
    "withdraw": N_("Withdraw"),
    "within.decide": N_("Decide"),
    "within.withdraw": N_("Withdraw"),
    "within.recommend.discipline": N_("Give the discipline recommendation"),
    "within.recommend.special_education": N_("Give the special education recommendation"),
    "within.recommend.english_learner": N_("Give the English learner recommendation"),
    "lottery.answer_offer": N_("Record the parent's answer to the offer"),
}

DENIAL_REASONS = {
    "no_space": N_("Lack of space"),
    "overcrowding": N_("Overcrowding"),
    "cost_exceeds_funding": N_("Cost exceeds funding"),
    "unlikely_to_meet_terms": N_("Unlikely to meet the permit's terms"),
    "disciplinary_or_expelled": N_("Disciplinary record or expulsion"),
    "false_information": N_("False information"),
}

APPEAL_OUTCOMES = {"upheld": N_("Upheld (denial final)"), "granted": N_("Granted (permit issued)")}

DIRECTIONS = {"into": N_("Into the district"), "out": N_("Out of the district")}

DEADLINES = {
    "documents_due": N_("Documents due"),
    "release_due": N_("Release due"),
    "decision_due": N_("Decision due"),
    "statutory_due": N_("Statutory deadline (EC 46600.2)"),
    "appeal_deadline": N_("Last day to appeal"),
    "appeal_decision_due": N_("County decision due"),
    "offer_deadline": N_("Last day to accept the offer"),
}

# What happened, as the workflows name it in the audit trail.
EVENTS = {
    "submitted": N_("Submitted"),
    "received": N_("Received"),
    "documents_requested": N_("Documents requested"),
    "document_added": N_("Document added"),
    "awaiting_release": N_("Release requested"),
    "release_granted": N_("Release granted"),
    "release_refused": N_("Release refused"),
    "review_started": N_("Review started"),
    "approved": N_("Approved"),
    "denied": N_("Denied"),
    "deemed_denied": N_("Deemed denied"),
    "overdue": N_("Decision overdue"),
    "appeal_filed": N_("Appeal filed"),
    "appeal_extended": N_("Appeal extended"),
    "appeal_upheld": N_("Appeal: denial upheld"),
    "appeal_granted": N_("Appeal granted"),
    "county_decision_overdue": N_("County decision overdue"),
    "withdrawn": N_("Withdrawn"),
    "abandoned": N_("Abandoned"),
    "recommendations_requested": N_("Recommendations requested"),
    "recommendation_discipline": N_("Discipline recommendation"),
    "recommendation_special_education": N_("Special education recommendation"),
    "recommendation_english_learner": N_("English learner recommendation"),
    "denied_on_recommendation": N_("Denied on a recommendation"),
    "entered_lottery": N_("Entered the lottery"),
    "placed": N_("Placed"),
    "waitlisted": N_("Waitlisted"),
    "offered": N_("Seat offered"),
    "declined": N_("Offer declined"),
    "offer_expired": N_("Offer expired"),
}

# The fields of the actions' forms, and their coded values, as the confirmation page names them.
FIELDS = {
    "outcome": N_("Decision"),
    "reasons": N_("Reasons for a denial"),
    "school": N_("School assignment"),
    "note": N_("Note"),
    "granted": N_("The district of residence's release"),
    "filed_on": N_("Filed on"),
    "recommended": N_("Recommendation"),
    "answer": N_("The parent's answer"),
    "reasoning": N_("Why"),
    "time_of_year": N_("The time of year (IX.B.2)"),
    "capacity_and_staffing": N_("Capacity and staffing (IX.B.3)"),
    "educational_program": N_("The educational program (IX.B.4)"),
}
VALUES = {
    "approve": N_("Approve"),
    "deny": N_("Deny"),
    "yes": N_("Granted"),
    "no": N_("Refused"),
    "for": N_("For the transfer"),
    "against": N_("Against the transfer"),
    "accept": N_("Accepts the seat"),
    "decline": N_("Declines the seat"),
    **APPEAL_OUTCOMES,
    **DENIAL_REASONS,
}

DELIVERY = {"queued": N_("Queued"), "sending": N_("Sending"), "sent": N_("Sent"),
            "failed": N_("Failed")}


def plain(code: str) -> str:
    """A code without a label, readable."""
    return code.replace("_", " ")

# The dashboard's figures (app/dashboard.py), by their keys.
PROCESSES = {"interdistrict": N_("Interdistrict"), "within": N_("Within the district"),
             "permit": N_("Permit"), "lottery": N_("Lottery")}

# The worklist's deadlines (rules/request_deadlines.py) and whom each waits on.
DEADLINE_KINDS = {
    "documents": N_("Documents"),
    "release": N_("Release"),
    "decision": N_("Decision"),
    "statutory": N_("Statutory deadline"),
    "appeal": N_("Last day to appeal"),
    "county": N_("County decision"),
    "offer": N_("Offer"),
    "recommendation": N_("Recommendation"),
    "certification": N_("Certification of the draw"),
    "renewal": N_("Renewal"),
}
WAITS_ON = {"staff": N_("Staff"), "parent": N_("Parent"), "county": N_("County office"),
            "other_district": N_("Other district")}
FACETS = {"stage": N_("Stage"), "school": N_("School"), "school_year": N_("School year"),
          "process": N_("Process")}
OUTCOMES = {"pending": N_("Pending")}
TIMELINESS = {
    "on_time": N_("On time"),
    "late": N_("Late"),
    "deemed_denied": N_("Deemed denied"),
    "overdue": N_("Overdue, undecided"),
}


def figure_namer(gettext: Callable[[str], str]) -> Callable[[str, str], str]:
    """A figure's words from its key (``stage``, ``process.stage``, an outcome, a denial
    reason, a decision's timeliness), in the page's language; its own label otherwise."""

    def name(key: str, label: str) -> str:
        process, _, code = key.rpartition(".")
        for table in (TIMELINESS, OUTCOMES, DENIAL_REASONS, STAGES):
            if code in table:
                word = gettext(table[code])
                break
        else:
            return label
        return f"{gettext(PROCESSES[process])}: {word}" if process in PROCESSES else word

    return name

# Permits (models/permits.py).
PERMIT_STAGES = {
    "active": N_("Active"),
    "awaiting_endorsement": N_("Awaiting endorsement"),
    "renewal_due": N_("Renewal due"),
    "lapsed": N_("Lapsed"),
    "revoked": N_("Revoked"),
    "moved": N_("Moved away"),
    "transferred": N_("Transferred"),
    "level_completed": N_("Level completed"),
}
PERMIT_ACTIONS = {"permit.revoke": N_("Revoke the permit"), "permit.act": N_("Record the renewal")}
REVOCATION_REASONS = {
    "academic_effort": N_("Repeated failure of academic effort"),
    "attendance": N_("Repeated failure of attendance"),
    "behavior": N_("Repeated failure of behavior standards"),
    "false_information": N_("False information"),
    "continuance_inadvisable": N_("Other conditions make it inadvisable"),
}
