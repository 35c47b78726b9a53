"""A request rests on the district's agreement with the district it names (EC 46600(a)(1)-(2)):
matched at submission, its conditions fixed with the request; a request without one is
refused and nothing starts."""

from __future__ import annotations

from datetime import date

import pytest

from districts import load_district
from intake.interdistrict import prepare
from rules.errors import PolicyError
from store import records
from tests.support.factories import make_request

PARAMOUNT = load_district("paramount")
OPENING_DAY = date(2027, 1, 15)


def test_the_request_carries_its_agreement_fixed_at_submission(engine) -> None:
    inp = prepare(make_request(other_district="downey unified school district"), PARAMOUNT,
                  OPENING_DAY, engine, "avalos")
    assert inp.policy.agreement is not None
    assert inp.policy.agreement.partner == "Downey Unified School District"
    assert inp.policy.agreement.last_school_year == "2029-2030"
    assert inp.request.other_district == "downey unified school district"  # as the form gave it


def test_the_permit_condition_is_the_agreements(engine) -> None:
    yearly = prepare(make_request(other_district="long-beach"), PARAMOUNT, OPENING_DAY, engine,
                     "avalos")
    assert yearly.request.reapply_annually is True  # Long Beach: reapply each school year
    assert yearly.policy.agreement is not None
    assert yearly.policy.agreement.revocation_reasons == [
        "attendance", "behavior", "false_information"]
    held = prepare(make_request(other_district="Compton Unified School District"), PARAMOUNT,
                   OPENING_DAY, engine, "avalos")
    assert held.request.reapply_annually is False


def test_a_request_asking_to_reapply_against_its_agreement_is_refused(engine) -> None:
    with pytest.raises(PolicyError, match="Downey Unified School District does not require "
                       r"reapplying each year.*EC 46600\(a\)\(1\)-\(2\)"):
        prepare(make_request(reapply_annually=True), PARAMOUNT, OPENING_DAY, engine, "avalos")


def test_a_request_naming_a_district_without_an_agreement_is_refused(engine) -> None:
    request = make_request(other_district="Norwalk-La Mirada Unified School District")
    with pytest.raises(PolicyError, match=r"no agreement with 'Norwalk-La Mirada Unified School "
                       r"District'.*EC 46600\(a\)\(1\).*Compton Unified School District"):
        prepare(request, PARAMOUNT, OPENING_DAY, engine, "avalos")
    assert records.find_open_request(engine, "paramount", request.student.id,
                                     request.school_year) is None


def test_a_district_listing_no_agreements_takes_any_other_district(engine) -> None:
    config = PARAMOUNT.model_copy(update={"agreements": []})
    inp = prepare(make_request(other_district="Anywhere USD"), config, OPENING_DAY, engine,
                  "avalos")
    assert inp.policy.agreement is None
