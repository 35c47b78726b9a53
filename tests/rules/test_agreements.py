"""Agreements between districts (EC 46600(a)(1)-(3)): the five-year term, a request matched
to its agreement, the agreement's conditions, the endorsement's dates."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from districts import load_district
from models.district import Agreement, DistrictConfig
from rules import agreements as rules
from rules.errors import PolicyError
from tests.support.paths import ROOT


def agreement(**overrides: Any) -> Agreement:
    data: dict[str, Any] = {
        "partner": "Downey Unified School District", "partner_id": "downey",
        "cd_code": "1964451", "first_school_year": "2026-2027", "last_school_year": "2030-2031",
    }
    return Agreement.model_validate({**data, **overrides})


# ---- the term (EC 46600(a)(1)) -----------------------------------------------------------


def test_an_agreement_of_five_school_years_is_accepted() -> None:
    five = agreement(first_school_year="2026-2027", last_school_year="2030-2031")
    assert rules.term_school_years(five.first_school_year, five.last_school_year) == 5
    rules.check_term(five)
    rules.check_term(agreement(last_school_year="2026-2027"))  # one school year


def test_an_agreement_of_six_school_years_is_refused() -> None:
    six = agreement(first_school_year="2026-2027", last_school_year="2031-2032")
    with pytest.raises(PolicyError, match=r"Downey Unified School District runs 6 school years "
                       r"\(2026-2027 through 2031-2032\).*may not exceed 5.*EC 46600\(a\)\(1\)"):
        rules.check_term(six)


def test_an_agreement_ending_before_it_begins_is_refused() -> None:
    with pytest.raises(PolicyError, match="ends before it begins"):
        rules.check_term(agreement(first_school_year="2027-2028", last_school_year="2026-2027"))


def _district_file(tmp_path: Path, last_school_year: str) -> Path:
    text = (ROOT / "districts" / "paramount.toml").read_text()
    text = text.replace('id = "paramount"', 'id = "agreeing"', 1)
    text = text.replace('partner_id = "compton"\ncd_code = "1973437"\nfirst_school_year = '
                        '"2025-2026"\nlast_school_year = "2029-2030"',
                        'partner_id = "compton"\ncd_code = "1973437"\nfirst_school_year = '
                        f'"2025-2026"\nlast_school_year = "{last_school_year}"', 1)
    assert last_school_year in text
    (tmp_path / "agreeing.toml").write_text(text)
    return tmp_path


def test_a_district_file_with_a_five_year_agreement_loads(tmp_path: Path) -> None:
    config = load_district("agreeing", _district_file(tmp_path, "2029-2030"))
    assert config.agreements[0].last_school_year == "2029-2030"


def test_a_district_file_with_a_six_year_agreement_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"agreeing.toml is invalid: the agreement with Compton "
                       r"Unified School District runs 6 school years.*EC 46600\(a\)\(1\)"):
        load_district("agreeing", _district_file(tmp_path, "2030-2031"))


def test_two_agreements_with_one_partner_covering_a_year_twice_are_refused() -> None:
    first = agreement(last_school_year="2028-2029")
    with pytest.raises(PolicyError, match="two agreements with Downey.*same school years"):
        rules.check_agreements([first, agreement(first_school_year="2028-2029")])
    rules.check_agreements([first, agreement(first_school_year="2029-2030")])  # one after


def test_an_unknown_revocation_term_is_refused() -> None:
    with pytest.raises(ValidationError, match="unknown revocation reason.*tardiness"):
        agreement(revocation_reasons=["attendance", "tardiness"])


# ---- a request's agreement ---------------------------------------------------------------


@pytest.mark.parametrize("named", ["Downey Unified School District",
                                   "  downey unified   SCHOOL district ", "downey", "1964451"])
def test_a_request_finds_its_agreement_by_name_short_name_or_cd_code(named: str) -> None:
    found = rules.agreement_for([agreement(partner="Compton Unified School District",
                                           partner_id="compton", cd_code=None), agreement()],
                                named, "2027-2028")
    assert found is not None and found.partner == "Downey Unified School District"


def test_a_request_naming_a_district_without_an_agreement_is_refused() -> None:
    with pytest.raises(PolicyError, match=r"no agreement with 'Norwalk-La Mirada USD'.*"
                       r"EC 46600\(a\)\(1\).*agreements: Downey Unified School District"):
        rules.agreement_for([agreement()], "Norwalk-La Mirada USD", "2027-2028")


@pytest.mark.parametrize(("school_year", "covered"), [
    ("2025-2026", False), ("2026-2027", True), ("2030-2031", True), ("2031-2032", False),
])
def test_the_agreement_covers_its_first_through_its_last_school_year(
    school_year: str, covered: bool
) -> None:
    if covered:
        assert rules.agreement_for([agreement()], "downey", school_year) is not None
    else:
        with pytest.raises(PolicyError, match=f"does not cover {school_year} "
                           r"\(2026-2027 through 2030-2031"):
            rules.agreement_for([agreement()], "downey", school_year)


def test_a_district_listing_no_agreements_matches_none() -> None:
    assert rules.agreement_for([], "Anywhere USD", "2027-2028") is None


def test_yearly_reapplication_is_the_agreements_standard() -> None:
    rules.check_reapplication(agreement(reapply_annually=True), True)
    rules.check_reapplication(agreement(reapply_annually=True), False)
    rules.check_reapplication(agreement(reapply_annually=False), False)
    with pytest.raises(PolicyError, match=r"does not require reapplying.*EC 46600\(a\)\(1\)"):
        rules.check_reapplication(agreement(reapply_annually=False), True)


def test_a_revocation_outside_the_agreements_terms_is_refused() -> None:
    allowed = ["attendance", "behavior"]
    rules.check_revocation_terms("Downey", allowed, ["attendance"])
    with pytest.raises(PolicyError, match=r"Downey does not provide for revocation for "
                       r"academic_effort.*EC 46600\(a\)\(2\)-\(3\)"):
        rules.check_revocation_terms("Downey", allowed, ["attendance", "academic_effort"])


def test_an_agreements_cd_code_is_the_partners_code_for_the_export() -> None:
    config = load_district("paramount")
    assert config.other_district_cd_codes["Compton Unified School District"] == "1973437"
    data = config.model_dump(mode="json")
    data["agreements"][0]["cd_code"] = "1999999"
    with pytest.raises(ValidationError, match="CD code 1999999 in its agreement, 1973437"):
        DistrictConfig.model_validate(data)


# ---- the endorsement (EC 46600(a)(3)) and the agreement's end ----------------------------


def test_the_endorsement_is_due_after_the_set_days_with_its_reminder_before() -> None:
    due = rules.endorsement_due(date(2027, 3, 1), 30)
    assert due == date(2027, 3, 31)
    assert rules.endorsement_reminder_day(due, 7) == date(2027, 3, 24)
    assert rules.endorsement_reminder_day(due, 0) == due


def test_an_endorsement_is_dated_between_the_issue_and_today() -> None:
    issued, today = date(2027, 3, 1), date(2027, 3, 10)
    rules.check_endorsement_date(issued, issued, today)
    rules.check_endorsement_date(today, issued, today)
    with pytest.raises(PolicyError, match="in the future"):
        rules.check_endorsement_date(date(2027, 3, 11), issued, today)
    with pytest.raises(PolicyError, match="before the permit was issued on 2027-03-01"):
        rules.check_endorsement_date(date(2027, 2, 28), issued, today)


def test_an_agreement_ends_on_june_30_of_its_last_school_year() -> None:
    last = rules.agreement_last_day(agreement())
    assert last == date(2031, 6, 30)
    assert rules.agreement_notice_day(last, 180) == date(2031, 1, 1)
