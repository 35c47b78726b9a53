"""Submission checks: each refusal names the problem and starts nothing (issue 2)."""

from __future__ import annotations

import json
from datetime import date, time
from pathlib import Path

import pytest

from districts import UnknownDistrictError, load_district
from intake.interdistrict import base_request_id, parse_request, parse_request_file, prepare
from models.stages import Stage
from models.state import HistoryEntry, RequestState
from rules.calendar import at_local
from rules.errors import PolicyError
from store import records
from tests.support.factories import make_request, request_data

PARAMOUNT = load_district("paramount")
OPENING_DAY = date(2027, 1, 15)  # requests for 2027-2028 open January 15, 2027 (seed 000)


def test_a_valid_request_gets_a_derived_id_without_the_student_id(engine) -> None:
    inp = prepare(make_request(), PARAMOUNT, OPENING_DAY, engine, "avalos")
    assert inp.id == base_request_id(engine, inp.request)
    assert inp.id.startswith("paramount-2027-2028-out-")
    assert "S1001" not in inp.id
    assert inp.policy.first_day == PARAMOUNT.calendar["2027-2028"].first_day


def test_coming_year_refused_before_january_15(engine) -> None:
    with pytest.raises(PolicyError, match="open on 2027-01-15"):
        prepare(make_request(), PARAMOUNT, date(2027, 1, 14), engine, "avalos")


def test_a_paper_form_received_before_january_15_is_refused_however_late_it_is_entered(
    engine,
) -> None:
    """A paper form's window is the one it was received in (docs/interdistrict.md "Paper
    forms"): received January 14, typed in January 16, it is early; received January 15 at
    8 a.m., it is on time and carries its receipt."""
    tz = PARAMOUNT.timezone
    entered = at_local(date(2027, 1, 16), time(9), tz)
    with pytest.raises(PolicyError, match="open on 2027-01-15"):
        prepare(make_request(), PARAMOUNT, entered.date(), engine, "avalos",
                received_at=at_local(date(2027, 1, 14), time(16, 59), tz),
                received_by="avalos", now=entered)
    received = at_local(OPENING_DAY, time(8), tz)
    inp = prepare(make_request(), PARAMOUNT, entered.date(), engine, "avalos",
                  received_at=received, received_by="avalos", now=entered)
    assert inp.received_at == received and inp.received_by == "avalos"
    assert inp.last_day == PARAMOUNT.calendar["2027-2028"].last_day
    assert inp.paper_entry_days == 3


@pytest.mark.parametrize("relationship", ["grandparent", "aunt", "neighbor", "sibling"])
def test_a_requester_who_is_not_a_parent_is_refused(engine, relationship: str) -> None:
    request = make_request(parent={"relationship": relationship})
    with pytest.raises(PolicyError, match=f"'{relationship}' may not request.*EC 46600.1"):
        prepare(request, PARAMOUNT, OPENING_DAY, engine, "avalos")


def test_unknown_school_and_school_year_are_refused(engine) -> None:
    with pytest.raises(PolicyError, match="unknown school 'hogwarts'"):
        prepare(make_request(preferred_school="hogwarts"), PARAMOUNT, OPENING_DAY, engine, "a")
    with pytest.raises(PolicyError, match="2031-2032 is not in paramount's calendar"):
        prepare(make_request(school_year="2031-2032"), PARAMOUNT, OPENING_DAY, engine, "a")


def test_unknown_district_is_refused() -> None:
    with pytest.raises(UnknownDistrictError, match="unknown district 'atlantis'"):
        load_district("atlantis")


def test_a_second_open_request_for_the_same_student_and_year_is_refused(engine) -> None:
    inp = prepare(make_request(), PARAMOUNT, OPENING_DAY, engine, "avalos")
    state = RequestState(
        id=inp.id, request=inp.request, timezone="America/Los_Angeles",
        received_at="2027-01-15T17:00:00Z",
    )
    entry = HistoryEntry(seq=1, at=state.received_at, stage="submitted", event="submitted",
                         actor="avalos")
    state.history.append(entry)
    records.record_event(engine, state, entry)
    into = make_request(direction="into")
    with pytest.raises(PolicyError, match=f"already has an open request.*{inp.id}"):
        prepare(into, PARAMOUNT, OPENING_DAY, engine, "avalos")
    # Once that one is closed, a new request gets its own id.
    closed = state.model_copy(update={"stage": Stage.withdrawn})
    entry2 = HistoryEntry(seq=2, at=state.received_at, stage="withdrawn", event="withdrawn",
                          actor="avalos")
    closed.history.append(entry2)
    records.record_event(engine, closed, entry2)
    again = prepare(make_request(), PARAMOUNT, OPENING_DAY, engine, "avalos")
    assert again.id == f"{inp.id}-2"


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("bad.json", "{not json", "malformed"),
        ("bad.toml", "district = ", "malformed"),
        ("list.json", "[1, 2]", "must be an object"),
        ("missing.json", json.dumps({"district": "paramount"}), "student: Field required"),
        ("grade.json", json.dumps(request_data(student={"grade": 14})), "student.grade"),
        ("email.json", json.dumps(request_data(parent={"email": "nope"})), "parent.email"),
        ("year.json", json.dumps(request_data(school_year="2027")), "school_year"),
        ("direction.json", json.dumps(request_data(direction="sideways")), "direction"),
    ],
)
def test_malformed_request_files_are_refused_naming_the_problem(
    tmp_path: Path, name: str, content: str, problem: str
) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(PolicyError, match=problem):
        parse_request_file(path)


def test_a_district_without_interdistrict_permits_is_refused(engine) -> None:
    millard = load_district("millard")  # Rule 5110.1: within-district transfers only
    with pytest.raises(PolicyError, match="millard does not take interdistrict permit"):
        prepare(make_request(district="millard"), millard, OPENING_DAY, engine, "avalos")


def test_a_form_with_a_field_it_does_not_have_is_refused_naming_each() -> None:
    """A misspelled optional field would otherwise be dropped without a word."""
    data = request_data(preffered_school="gaines", student={"has_iep": True})
    with pytest.raises(PolicyError) as refused:
        parse_request(data, "form.json")
    assert str(refused.value) == (
        "form.json is invalid: student.has_iep: not a field of the form; "
        "preffered_school: not a field of the form"
    )
    assert parse_request(request_data(preferred_school="gaines")).preferred_school == "gaines"
