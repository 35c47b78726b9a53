"""rules/eligibility.py, rules/documents.py, rules/roles.py and rules/revocation.py."""

from __future__ import annotations

from datetime import date

import pytest

from models.documents import DocumentKind as D
from models.people import Relationship
from models.requests import Direction
from models.requests import TransferReason as R
from rules import documents, eligibility, revocation, roles
from rules.errors import PolicyError

# ---- who may request (EC 46600.1) --------------------------------------------------------


@pytest.mark.parametrize(
    "relationship",
    ["natural_parent", "adoptive_parent", "legal_custodian", "educational_rights_holder"],
)
def test_each_parent_relationship_may_request(relationship: str) -> None:
    assert eligibility.check_requester(relationship) is Relationship(relationship)


def test_exactly_four_relationships_are_parents() -> None:
    assert {
        "natural_parent",
        "adoptive_parent",
        "legal_custodian",
        "educational_rights_holder",
    } == eligibility.PARENT_RELATIONSHIPS


@pytest.mark.parametrize(
    "relationship",
    ["grandparent", "sibling", "", "neighbour", "Natural_Parent", " legal_custodian"],
)
def test_anyone_else_is_refused_naming_the_relationship_and_the_code(relationship: str) -> None:
    with pytest.raises(PolicyError) as refused:
        eligibility.check_requester(relationship)
    message = str(refused.value)
    assert repr(relationship) in message
    assert "EC 46600.1" in message
    assert "only a parent" in message


# ---- when a request may be submitted -----------------------------------------------------

YEAR = "2027-2028"
FIRST, LAST = date(2027, 8, 11), date(2028, 6, 1)


def submit_on(today: date, school_year: str = YEAR, first: date = FIRST, last: date = LAST) -> None:
    eligibility.check_submission_date(school_year, first, last, today, 1, 15)


def test_january_14_is_refused_for_the_coming_year() -> None:
    with pytest.raises(PolicyError) as refused:
        submit_on(date(2027, 1, 14))
    assert "2027-01-15" in str(refused.value)
    assert "2027-2028" in str(refused.value)


def test_january_15_is_accepted_for_the_coming_year() -> None:
    submit_on(date(2027, 1, 15))
    submit_on(date(2027, 6, 30))


def test_a_year_ahead_is_refused_before_its_window() -> None:
    with pytest.raises(PolicyError):
        submit_on(date(2027, 3, 1), "2028-2029", date(2028, 8, 9), date(2029, 5, 31))


def test_the_current_year_is_open_after_its_first_day() -> None:
    submit_on(FIRST)
    submit_on(date(2027, 12, 1))
    submit_on(LAST)  # the last day of school is still the current year


def test_the_current_year_is_open_even_if_the_window_would_open_later() -> None:
    # A district whose window opens on September 1 still takes requests for the year under
    # way once school has started (August 11).
    eligibility.check_submission_date(YEAR, FIRST, LAST, date(2027, 8, 20), 9, 1)
    with pytest.raises(PolicyError):
        eligibility.check_submission_date(YEAR, FIRST, LAST, date(2027, 8, 10), 9, 1)


def test_an_ended_year_is_refused() -> None:
    with pytest.raises(PolicyError) as refused:
        submit_on(date(2028, 6, 2))
    assert "ended on 2028-06-01" in str(refused.value)


def test_the_opening_day_is_the_districts_setting() -> None:
    eligibility.check_submission_date(YEAR, FIRST, LAST, date(2027, 2, 1), 2, 1)
    with pytest.raises(PolicyError):
        eligibility.check_submission_date(YEAR, FIRST, LAST, date(2027, 1, 31), 2, 1)


@pytest.mark.parametrize("school_year", ["2027-2029", "2028-2027"])
def test_a_school_year_must_be_two_consecutive_years(school_year: str) -> None:
    with pytest.raises(PolicyError, match="consecutive"):
        eligibility.school_year_start(school_year)


def test_requests_open_in_the_year_the_school_year_starts() -> None:
    assert eligibility.requests_open_on("2027-2028", 1, 15) == date(2027, 1, 15)


# ---- who may appeal ----------------------------------------------------------------------


def test_a_student_not_facing_expulsion_may_appeal() -> None:
    eligibility.check_may_appeal(expelled=False, pending_expulsion=False)


def test_pending_expulsion_may_not_appeal() -> None:
    with pytest.raises(PolicyError, match="proceedings are pending"):
        eligibility.check_may_appeal(expelled=False, pending_expulsion=True)


def test_an_expelled_student_may_not_appeal() -> None:
    with pytest.raises(PolicyError, match="term of an expulsion"):
        eligibility.check_may_appeal(expelled=True, pending_expulsion=False)


# ---- required documents ------------------------------------------------------------------

INTO = [D.reason_evidence, D.report_card, D.discipline_report, D.attendance_record]


@pytest.mark.parametrize("reason", list(R))
def test_into_needs_the_records_and_reason_evidence(reason: R) -> None:
    required = documents.required_documents(Direction.into, reason, False, False)
    assert required == INTO
    assert D.iep_or_504 not in required


def test_into_with_an_iep_or_504_also_needs_the_plan() -> None:
    required = documents.required_documents(Direction.into, R.moving, True, False)
    assert required == [*INTO, D.iep_or_504]


def test_into_does_not_ask_for_the_release_as_a_document() -> None:
    # The release is its own stage (awaiting_release), recorded with `transfers release`.
    required = documents.required_documents(Direction.into, R.moving, True, True)
    assert D.release_from_residence not in required


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        (R.bullying, [D.bullying_complaint, D.bullying_investigation_report]),
        (R.parent_employment, [D.pay_stub, D.employer_letter]),
        (
            R.child_care,
            [D.child_care_provider_letter, D.child_care_boundary_proof, D.child_care_parent_letter],
        ),
        (R.moving, [D.escrow_or_lease]),
        (R.continuing_enrollment, [D.student_enrollment_record]),
        (R.sibling, [D.sibling_enrollment_record]),
        (R.specific_program, [D.program_material, D.program_interest_letter]),
    ],
)
def test_out_needs_the_evidence_for_its_reason(reason: R, expected: list[D]) -> None:
    assert documents.required_documents(Direction.out, reason, False, False) == expected
    # An IEP does not change what an out request needs.
    assert documents.required_documents(Direction.out, reason, True, False) == expected


def test_out_for_a_self_employed_parent_needs_a_letter_and_business_license() -> None:
    required = documents.required_documents(Direction.out, R.parent_employment, False, True)
    assert required == [D.self_employment_letter, D.business_license]


def test_self_employment_only_matters_for_parent_employment() -> None:
    assert documents.required_documents(Direction.out, R.moving, False, True) == [
        D.escrow_or_lease
    ]


def test_required_documents_returns_a_fresh_list() -> None:
    first = documents.required_documents(Direction.into, R.moving, False, False)
    first.append(D.iep_or_504)
    assert documents.required_documents(Direction.into, R.moving, False, False) == INTO


def test_missing_documents_keeps_the_required_order() -> None:
    required = [D.report_card, D.discipline_report, D.attendance_record]
    assert documents.missing_documents(required, []) == required
    assert documents.missing_documents(required, [D.discipline_report]) == [
        D.report_card,
        D.attendance_record,
    ]
    assert documents.missing_documents(required, [D.attendance_record, D.report_card]) == [
        D.discipline_report
    ]


def test_missing_documents_ignores_extras_and_duplicates() -> None:
    required = [D.pay_stub, D.employer_letter]
    received = [D.pay_stub, D.pay_stub, D.escrow_or_lease, D.employer_letter]
    assert documents.missing_documents(required, received) == []


def test_every_document_kind_has_a_label() -> None:
    assert set(documents.DOCUMENT_LABELS) == set(D)


# ---- staff roles -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "roles_that_may"),
    [
        ("submit", ["pupil_services"]),
        ("add_document", ["pupil_services"]),
        ("record_release", ["pupil_services"]),
        ("decide", ["director", "superintendent_designee"]),
        ("file_appeal", ["pupil_services", "county_office"]),
        ("record_appeal_outcome", ["county_office"]),
        ("extend_appeal", ["county_office"]),
        ("withdraw", ["pupil_services"]),
        ("start_provisional", ["pupil_services", "director"]),
    ],
)
def test_each_action_needs_its_role(action: str, roles_that_may: list[str]) -> None:
    all_roles = ["pupil_services", "director", "superintendent_designee", "county_office"]
    for role in all_roles:
        if role in roles_that_may:
            roles.check_role(action, "someone", [role])
            roles.check_role(action, "someone", ["visitor", role])
        else:
            with pytest.raises(PolicyError):
                roles.check_role(action, "someone", [role])


def test_a_refusal_names_the_actor_their_roles_and_the_role_needed() -> None:
    with pytest.raises(PolicyError) as refused:
        roles.check_role("decide", "avalos", ["pupil_services"])
    message = str(refused.value)
    assert "avalos (pupil_services) may not decide" in message
    assert "director or superintendent_designee" in message


def test_an_actor_without_roles_is_refused() -> None:
    with pytest.raises(PolicyError, match=r"visitor \(no role\) may not record appeal outcome"):
        roles.check_role("record_appeal_outcome", "visitor", [])


# ---- revocation (EC 46600) ---------------------------------------------------------------

YEAR_END = date(2028, 6, 1)


def test_grade_10_may_be_revoked_through_june_30() -> None:
    revocation.check_may_revoke(10, YEAR_END, date(2028, 6, 30), ["attendance"])
    revocation.check_may_revoke(10, YEAR_END, date(2028, 3, 1), ["attendance"])


def test_grade_10_may_not_be_revoked_from_july_1() -> None:
    with pytest.raises(PolicyError) as refused:
        revocation.check_may_revoke(10, YEAR_END, date(2028, 7, 1), ["attendance"])
    assert "2028-06-30" in str(refused.value)
    assert "EC 46600" in str(refused.value)


@pytest.mark.parametrize("grade", [11, 12])
def test_grades_11_and_12_may_never_be_revoked(grade: int) -> None:
    with pytest.raises(PolicyError, match=f"grade {grade}"):
        revocation.check_may_revoke(grade, YEAR_END, date(2027, 9, 1), ["behavior"])


@pytest.mark.parametrize("grade", [0, 5, 9])
def test_lower_grades_may_be_revoked_even_after_june_30(grade: int) -> None:
    revocation.check_may_revoke(grade, YEAR_END, date(2028, 7, 1), ["academic_effort"])


def test_a_revocation_must_cite_a_reason() -> None:
    with pytest.raises(PolicyError, match="at least one reason"):
        revocation.check_may_revoke(9, YEAR_END, date(2028, 3, 1), [])


def test_an_unknown_reason_is_refused_by_name() -> None:
    with pytest.raises(PolicyError, match="unknown revocation reason.*: tardy"):
        revocation.check_may_revoke(9, YEAR_END, date(2028, 3, 1), ["behavior", "tardy"])


@pytest.mark.parametrize("reason", [r.value for r in revocation.RevocationReason])
def test_every_seed_reason_is_accepted(reason: str) -> None:
    revocation.check_may_revoke(9, YEAR_END, date(2028, 3, 1), [reason])


def test_the_letter_says_when_an_appeal_becomes_possible() -> None:
    assert "proceedings have ended" in eligibility.when_appeal_opens(False, True)
    assert "term of the expulsion has ended" in eligibility.when_appeal_opens(True, False)
    assert eligibility.when_appeal_opens(False, False) == ""
