"""The dashboard's figures (app/dashboard.py) over a records store of known shape
(tests/support/reports.py `paramount_year`, counted here by hand): requests by stage and
outcome, denial reasons, decisions against their due date, seats filled by school."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from app.dashboard import Count, SchoolSeats, Timeliness, dashboard
from app.errors import REFUSALS
from app.principal import Principal
from models.within_district import Program, SeatKey
from models.within_request import WithinStage
from store.engine import engine_for
from tests.support.reports import YEAR, paramount_year, within, write, write_lottery


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("TRANSFERS_DATA_DIR", str(data))
    monkeypatch.delenv("TRANSFERS_DATABASE_URL", raising=False)
    monkeypatch.delenv("TRANSFERS_DISTRICTS_DIR", raising=False)
    engine = engine_for(f"sqlite:///{data / 'records.sqlite3'}")
    yield engine
    engine.dispose()


def values(counts: tuple[Count, ...]) -> dict[str, int]:
    return {c.key: c.value for c in counts}


def test_requests_by_stage_and_by_outcome(store: Engine) -> None:
    paramount_year(store)
    figures = dashboard(Principal("avalos"), "paramount", YEAR)
    assert (figures.district_name, figures.school_year, figures.requests) == (
        "Paramount Unified School District", YEAR, 7)  # 2026-2027 and the other district's out
    assert values(figures.by_stage) == {
        "interdistrict.approved": 2,  # a, b
        "interdistrict.appeal_pending": 1,  # e
        "interdistrict.awaiting_documents": 1,  # g
        "interdistrict.deemed_denied": 1,  # d
        "interdistrict.denied": 1,  # c
        "interdistrict.under_review": 1,  # f
    }
    # in the order of the process: under review before its outcomes
    assert [c.label for c in figures.by_stage][:3] == [
        "Interdistrict: awaiting documents", "Interdistrict: under review",
        "Interdistrict: deemed denied"]
    # e's appeal is pending on a written denial: denied; f and g are still owed an answer
    assert [(c.key, c.value) for c in figures.by_outcome] == [
        ("approved", 2), ("denied", 2), ("pending", 2), ("deemed_denied", 1)]
    assert sum(c.value for c in figures.by_outcome) == figures.requests


def test_denial_reasons_are_counted_once_per_request(store: Engine) -> None:
    paramount_year(store)
    figures = dashboard(Principal("nguyen"), "paramount", YEAR)
    assert [(c.key, c.value) for c in figures.denial_reasons] == [
        ("no_space", 2), ("overcrowding", 1)]  # c: both; e: no_space
    assert [c.label for c in figures.denial_reasons] == ["No space", "Overcrowding"]


def test_decisions_against_each_requests_due_date(store: Engine) -> None:
    paramount_year(store)
    figures = dashboard(Principal("avalos"), "paramount", YEAR)
    # a (the evening of its last day, in Los Angeles; April 1 in UTC), b and e on time; c two
    # days late; d deemed denied; f open past its day; g has no due date yet
    assert figures.decisions == Timeliness(on_time=3, late=1, deemed_denied=1, overdue=1)
    assert [c.value for c in figures.decisions.counts()] == [3, 1, 1, 1]


def test_seats_filled_are_the_years_placements_in_the_districts_schools(store: Engine) -> None:
    paramount_year(store)
    figures = dashboard(Principal("avalos"), "paramount", YEAR)
    # only b came into a Paramount school; a left for Downey; no lottery in Paramount
    assert figures.seats == (SchoolSeats("keppel", "Mark Keppel Elementary School", 1, None),)


def test_seats_beside_the_lotterys_designated_seats(store: Engine) -> None:
    montessori = Program.montessori
    write_lottery(store, {
        SeatKey(school="norris-elementary", program=montessori, grade=0): 6,
        SeatKey(school="norris-elementary", program=montessori, grade=1): 2,
        SeatKey(school="rockwell-elementary", program=montessori, grade=0): 4,
        SeatKey(school="reagan-elementary", program=Program.regular, grade=0): 0,
    })
    write(store,
          within("millard-w1", WithinStage.placed, 1),
          within("millard-w2", WithinStage.placed, 2, grade=0),
          within("millard-w3", WithinStage.placed, 3, school="rockwell-elementary", grade=0),
          within("millard-w4", WithinStage.waitlisted, 4),
          within("millard-w5", WithinStage.denied, 5, school="bryan-elementary"))
    figures = dashboard(Principal("tran"), "millard", YEAR)
    assert figures.seats == (
        SchoolSeats("norris-elementary", "Norris Elementary School", 2, 8),
        SchoolSeats("reagan-elementary", "Reagan Elementary School", 0, 0),
        SchoolSeats("rockwell-elementary", "Rockwell Elementary School", 1, 4),
    )
    assert values(figures.by_outcome) == {"placed": 3, "waitlisted": 1, "denied": 1}
    assert values(figures.by_stage) == {"within.placed": 3, "within.waitlisted": 1,
                                        "within.denied": 1}
    # decided by the lottery, with no due date: not among the decisions counted
    assert figures.decisions == Timeliness(0, 0, 0, 0)
    assert figures.denial_reasons == ()


def test_a_year_without_requests_is_all_zeros(store: Engine) -> None:
    figures = dashboard(Principal("avalos"), "paramount", "2030-2031")
    assert (figures.requests, figures.by_stage, figures.by_outcome, figures.denial_reasons,
            figures.decisions, figures.seats) == (0, (), (), (), Timeliness(0, 0, 0, 0), ())


@pytest.mark.parametrize("who, district, why", [
    (Principal("avalos"), "millard", "'avalos' is not a staff member of millard"),
    (Principal("olsen"), "paramount", "'olsen' is not a staff member of paramount"),
])
def test_a_staff_member_sees_only_their_district(store: Engine, who: Principal, district: str,
                                                 why: str) -> None:
    with pytest.raises(REFUSALS, match=re.escape(why)):
        dashboard(who, district, YEAR)


def test_counts_without_student_data_are_for_every_role_of_the_roster(store: Engine) -> None:
    paramount_year(store)
    # the county office may not export student records, but may see the counts
    assert dashboard(Principal("lacoe"), "paramount", YEAR).requests == 7
