"""within_submission.window_for and prepare_within (seed 004, Rule 5110.1): every intake rule
is checked before anything starts (I.A, II, III.A, IV.G, VI.C, VII, VIII.A, VIII.A.3, IX.A),
the window boundaries to the second, the request id and its suffix, the lottery id and the
end of the educational level (IV.D). No Temporal server: pure functions and the records
store, on SQLite and (with TRANSFERS_TEST_DATABASE_URL) on PostgreSQL. A refusal writes
nothing to the store."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError
from sqlalchemy import Engine, func, select

from districts import load_within_district
from intake.ids import ID_KEY
from intake.within import prepare_within, window_for
from models.within_district import Program, Residency, SeatKey, SpecialIssue
from models.within_district_config import WithinDistrictConfig
from models.within_request import (
    ENDED_WITHIN_STAGES,
    OPEN_WITHIN_STAGES,
    WithinHistoryEntry,
    WithinKind,
    WithinRequest,
    WithinRequestInput,
    WithinRequestState,
    WithinStage,
    WithinStudent,
)
from rules import calendar
from rules.errors import PolicyError
from store import records
from store.schema import EventRow
from store.secrets import secret
from tests.support import within as w

CHI = ZoneInfo("America/Chicago")
SECOND = timedelta(seconds=1)
MILLARD = load_within_district("millard")
YEAR = "2027-2028"  # the shipped file's seats are for this year
NEXT_YEAR_NOW = datetime(2026, 10, 1, 12, 0, tzinfo=CHI)  # inside VIII.A for 2027-2028

NORRIS_MONTESSORI_K = SeatKey(school="norris-elementary", program=Program.montessori, grade=0)
NORRIS_MONTESSORI_1 = SeatKey(school="norris-elementary", program=Program.montessori, grade=1)
ABBOTT_REGULAR_K = SeatKey(school="abbott-elementary", program=Program.regular, grade=0)


def chicago(*args: int) -> datetime:
    return datetime(*args, tzinfo=CHI)


def millard_request(
    n: int = 1,
    key: SeatKey = NORRIS_MONTESSORI_K,
    year: str = YEAR,
    fields: dict[str, Any] | None = None,
    **student: Any,
) -> WithinRequest:
    """A request to the shipped Millard file for ``year``; ``fields`` overrides the form's
    top-level fields, ``student`` the student's."""
    request = w.request(MILLARD, n, key, **student)
    return request.model_copy(update={"school_year": year, **(fields or {})})


def base_id(engine: Engine, district: str, year: str, student_id: str) -> str:
    """The documented id: the first 12 hex digits of the HMAC-SHA-256, under the store's key,
    of the district and the student's id."""
    key = secret(engine, ID_KEY)
    digest = hmac.new(key, f"{district}:{student_id}".encode(), hashlib.sha256).hexdigest()
    return f"{district}-{year}-within-{digest[:12]}"


def record(
    engine: Engine,
    request: WithinRequest,
    stage: WithinStage,
    request_id: str | None = None,
    kind: WithinKind = WithinKind.next_year,
) -> str:
    """Write an existing request of ``request``'s student in ``stage`` to the store."""
    rid = request_id or base_id(engine, request.district, request.school_year, request.student.id)
    at = datetime(2026, 9, 15, 17, 0, tzinfo=UTC)
    entry = WithinHistoryEntry(seq=1, at=at, stage=stage, event=stage.value, actor="avalos")
    state = WithinRequestState(
        id=rid, request=request, kind=kind, timezone=MILLARD.timezone, stage=stage,
        received_at=at, history=[entry],
    )
    records.record_event(engine, state, entry)
    return rid


def snapshot(engine: Engine) -> tuple[list[tuple], int]:
    rows = sorted(
        (r.id, r.stage, r.is_open, r.last_seq, r.school_year) for r in records.list_requests(engine)
    )
    with engine.connect() as connection:
        events = connection.execute(select(func.count()).select_from(EventRow)).scalar_one()
    return rows, events


@pytest.fixture
def engine(store_engine: Engine) -> Engine:
    """The store with one unrelated, closed request in it, so "unchanged" means something."""
    other = millard_request(99, NORRIS_MONTESSORI_1)
    record(store_engine, other, WithinStage.withdrawn)
    return store_engine


def closed(year: str) -> str:
    """What a refusal outside the windows says: in no window at all, or after 5:00 p.m. on
    February 15 for a form delivered in person (VIII.A.2)."""
    return f"no window for {year} is open|forms delivered in person for {year} closed"


def refused(
    engine: Engine, request: WithinRequest, now: datetime, match: str,
    config: WithinDistrictConfig = MILLARD,
) -> None:
    before = snapshot(engine)
    with pytest.raises(PolicyError, match=match):
        prepare_within(request, config, now, engine, "avalos")
    assert snapshot(engine) == before


def accepted(
    engine: Engine, request: WithinRequest, now: datetime,
    config: WithinDistrictConfig = MILLARD,
) -> WithinRequestInput:
    before = snapshot(engine)
    inp = prepare_within(request, config, now, engine, "avalos")
    assert snapshot(engine) == before  # preparing writes nothing either
    assert inp.request == request
    assert inp.submitted_by == "avalos"
    assert inp.policy.district_id == config.id
    assert inp.policy.timezone == config.timezone
    return inp


# ---- the windows on the seed's dates (the shipped file, 2027-2028) -------------------------
# VIII.A: from 2026-09-01 00:00 until 2027-02-15 17:00 Central (excluded) in person (as staff
# enter forms), until 2027-02-16 00:00 online (the parent's own, below); VIII.A.3: option
# enrollment completes 2027-04-01, so from 2027-04-02 00:00 until the first day of school,
# 2027-08-12; IX.A: from 2027-08-12 00:00 until 2028-01-15 00:00 (excluded).

MILLARD_WINDOWS = [
    pytest.param(chicago(2026, 8, 31, 23, 59, 59), None, id="before-sept-1"),
    pytest.param(chicago(2026, 9, 1), WithinKind.next_year, id="sept-1-00:00"),
    pytest.param(chicago(2027, 2, 15, 16, 59, 59), WithinKind.next_year, id="feb-15-16:59:59"),
    pytest.param(datetime(2027, 2, 15, 22, 59, 59, tzinfo=UTC), WithinKind.next_year,
                 id="feb-15-16:59:59-as-utc"),
    pytest.param(chicago(2027, 2, 15, 17, 0, 0), None, id="feb-15-17:00:00"),
    pytest.param(datetime(2027, 2, 15, 23, 0, 0, tzinfo=UTC), None, id="feb-15-17:00-as-utc"),
    pytest.param(datetime(2027, 2, 16, 8, 0, 0, tzinfo=ZoneInfo("Asia/Tokyo")), None,
                 id="feb-15-17:00-as-tokyo"),
    pytest.param(chicago(2027, 2, 15, 17, 0, 1), None, id="feb-15-17:00:01"),
    pytest.param(chicago(2027, 4, 1, 23, 59, 59), None, id="completion-day-23:59:59"),
    pytest.param(chicago(2027, 4, 2), WithinKind.reopened, id="reopens-00:00"),
    pytest.param(chicago(2027, 8, 11, 23, 59, 59), WithinKind.reopened, id="eve-of-first-day"),
    pytest.param(chicago(2027, 8, 12), WithinKind.current_year, id="first-day-00:00"),
    pytest.param(chicago(2028, 1, 14, 23, 59, 59), WithinKind.current_year, id="jan-14-23:59:59"),
    pytest.param(chicago(2028, 1, 15), None, id="jan-15-00:00"),
    pytest.param(datetime(2028, 1, 15, 5, 59, 59, tzinfo=UTC), WithinKind.current_year,
                 id="jan-14-23:59:59-as-utc"),
    pytest.param(chicago(2028, 3, 1), None, id="after-jan-15"),
]


@pytest.mark.parametrize(("now", "kind"), MILLARD_WINDOWS)
def test_window_for_on_the_seed_dates(now: datetime, kind: WithinKind | None) -> None:
    if kind is None:
        with pytest.raises(PolicyError, match=closed(YEAR)):
            window_for(MILLARD, YEAR, now)
    else:
        assert window_for(MILLARD, YEAR, now) is kind


@pytest.mark.parametrize(("now", "kind"), MILLARD_WINDOWS)
def test_prepare_within_on_the_seed_dates(
    engine: Engine, now: datetime, kind: WithinKind | None
) -> None:
    request = millard_request()
    if kind is None:
        refused(engine, request, now, closed(YEAR))
        return
    inp = accepted(engine, request, now)
    assert inp.kind is kind
    expected_lottery = None if kind is WithinKind.current_year else f"lottery-millard-{YEAR}"
    assert inp.lottery_id == expected_lottery


@pytest.mark.parametrize(
    ("now", "kind"),
    [
        pytest.param(chicago(2027, 2, 15, 16, 59, 59), WithinKind.next_year, id="16:59:59"),
        pytest.param(chicago(2027, 2, 15, 17, 0, 0), WithinKind.next_year, id="17:00:00"),
        pytest.param(chicago(2027, 2, 15, 23, 59, 59), WithinKind.next_year, id="23:59:59"),
        pytest.param(chicago(2027, 2, 16, 0, 0, 0), None, id="feb-16-00:00"),
    ],
)
def test_staff_entries_close_at_five_and_the_parents_own_at_midnight(
    engine: Engine, now: datetime, kind: WithinKind | None
) -> None:
    """VIII.A.2: "submitted online by on or before February 15" (the parent, on the portal)
    or "by personal delivery, received no later than 5:00 p.m." (whatever staff enter)."""
    request = millard_request()
    if kind is None:
        with pytest.raises(PolicyError, match=f"no window for {YEAR} is open"):
            prepare_within(request, MILLARD, now, engine, "parent p@example.org", online=True)
    else:
        online = prepare_within(request, MILLARD, now, engine, "parent p@example.org",
                                online=True)
        assert online.kind is kind
        assert online.windows is not None
        assert online.windows.in_person_closes == chicago(2027, 2, 15, 17, 0, 0)
        assert online.windows.next_year.closes == chicago(2027, 2, 16, 0, 0, 0)
    if now >= chicago(2027, 2, 15, 17, 0, 0):
        refused(engine, request, now, "closed" if kind else "no window")
    # A paper form received at 4:59 p.m. is in person and on time whenever it is entered
    # (within the district's days), even with ``online`` claimed.
    paper = prepare_within(request, MILLARD, now + timedelta(hours=1), engine, "avalos",
                           received_at=chicago(2027, 2, 15, 16, 59), received_by="kowalski",
                           online=True)
    assert paper.kind is WithinKind.next_year


def test_the_refusal_names_the_windows_it_missed() -> None:
    with pytest.raises(PolicyError) as caught:
        window_for(MILLARD, YEAR, chicago(2027, 2, 15, 17, 0))
    message = str(caught.value)
    assert "forms delivered in person for 2027-2028 closed at 2027-02-15T17:00:00-06:00" \
        in message
    assert "online are taken until 2027-02-16T00:00:00-06:00" in message
    with pytest.raises(PolicyError) as caught:
        window_for(MILLARD, YEAR, chicago(2027, 2, 16, 0, 0))
    message = str(caught.value)
    assert "2026-09-01T00:00:00-05:00" in message
    assert "2027-02-16T00:00:00-06:00 (forms delivered in person until " \
        "2027-02-15T17:00:00-06:00)" in message
    assert "reopens the day after 2027-04-01 (VIII.A.3)" in message
    assert "2028-01-15 (IX.A)" in message


@pytest.mark.parametrize(
    "now",
    [chicago(2027, 4, 2), chicago(2027, 6, 1), chicago(2027, 8, 11, 23, 59, 59)],
    ids=["day-after-completion", "june", "eve-of-first-day"],
)
def test_nothing_reopens_when_option_enrollment_completion_is_not_set(
    engine: Engine, now: datetime
) -> None:
    settings = MILLARD.within_district.model_copy(update={"option_enrollment_complete": {}})
    config = MILLARD.model_copy(update={"within_district": settings})
    with pytest.raises(PolicyError) as caught:
        window_for(config, YEAR, now)
    assert "reopens" not in str(caught.value)
    refused(engine, millard_request(), now, f"no window for {YEAR}", config=config)
    assert window_for(MILLARD, YEAR, now) is WithinKind.reopened  # the shipped file reopens


def test_a_school_year_not_in_the_calendar_is_refused(engine: Engine) -> None:
    with pytest.raises(PolicyError, match="2031-2032 is not in millard's calendar"):
        window_for(MILLARD, "2031-2032", NEXT_YEAR_NOW)
    refused(engine, millard_request(year="2031-2032"), NEXT_YEAR_NOW, "2031-2032 is not in")


# ---- the windows relative to test_district's dates ---------------------------------------
# Built around a fixed instant: applications close at 5 p.m. Central three days later,
# option enrollment completes 30 days after the close, school starts 60 days after it.

ANCHOR = chicago(2030, 3, 1, 12, 0)


def _close(c: WithinDistrictConfig) -> datetime:
    return w.window_closes(c)


def _reopen(c: WithinDistrictConfig) -> datetime:
    completes = c.within_district.option_enrollment_complete[w.school_year(c)]
    return calendar.at_local(completes + timedelta(days=1), time(0, 0), w.TZ)


def _first_day(c: WithinDistrictConfig) -> datetime:
    return calendar.at_local(c.calendar[w.school_year(c)].first_day, time(0, 0), w.TZ)


def _jan_15(c: WithinDistrictConfig) -> datetime:
    return calendar.at_local(date(int(w.school_year(c)[5:]), 1, 15), time(0, 0), w.TZ)


def _opens(c: WithinDistrictConfig) -> datetime:
    return calendar.at_local(date(int(w.school_year(c)[:4]) - 1, 1, 1), time(0, 0), w.TZ)


RELATIVE_WINDOWS = [
    pytest.param(lambda c: _opens(c) - SECOND, None, id="before-opening"),
    pytest.param(_opens, WithinKind.next_year, id="opening"),
    pytest.param(lambda c: _close(c) - SECOND, WithinKind.next_year, id="close-4:59:59pm"),
    pytest.param(_close, None, id="close-5:00:00pm"),
    pytest.param(lambda c: _reopen(c) - SECOND, None, id="reopen-minus-1s"),
    pytest.param(_reopen, WithinKind.reopened, id="reopen"),
    pytest.param(lambda c: _first_day(c) - SECOND, WithinKind.reopened, id="first-day-minus-1s"),
    pytest.param(_first_day, WithinKind.current_year, id="first-day-00:00"),
    pytest.param(lambda c: _jan_15(c) - SECOND, WithinKind.current_year, id="jan-14-23:59:59"),
    pytest.param(_jan_15, None, id="jan-15-00:00"),
]


def test_test_district_dates_are_as_described() -> None:
    config = w.test_district(ANCHOR)
    year = w.school_year(config)
    assert year == "2030-2031"
    assert _close(config) == chicago(2030, 3, 4, 17, 0)
    assert _reopen(config) == chicago(2030, 4, 4)
    assert _first_day(config) == chicago(2030, 5, 3)
    assert _jan_15(config) == chicago(2031, 1, 15)


@pytest.mark.parametrize(("at", "kind"), RELATIVE_WINDOWS)
def test_prepare_within_on_test_district_boundaries(
    engine: Engine, at: Callable[[WithinDistrictConfig], datetime], kind: WithinKind | None
) -> None:
    config = w.test_district(ANCHOR)
    year = w.school_year(config)
    now = at(config)
    request = w.request(config, 1)
    if kind is None:
        with pytest.raises(PolicyError, match=closed(year)):
            window_for(config, year, now)
        refused(engine, request, now, closed(year), config=config)
        return
    assert window_for(config, year, now) is kind
    inp = accepted(engine, request, now, config=config)
    assert inp.kind is kind
    assert inp.id == base_id(engine, config.id, year, "S00001")
    expected_lottery = None if kind is WithinKind.current_year else f"lottery-{config.id}-{year}"
    assert inp.lottery_id == expected_lottery
    assert inp.level_ends == date(2036, 6, 30)  # kindergarten in 2030-2031, grade 5 in 2035-36


def test_test_district_with_no_seats_refuses(engine: Engine) -> None:
    config = w.test_district(ANCHOR, seats={w.MONTESSORI_K: 0, w.MONTESSORI_1: 1})
    now = _close(config) - SECOND
    refused(engine, w.request(config, 1), now, r"kindergarten .* not open .*\(VII\)",
            config=config)
    assert accepted(engine, w.request(config, 2, w.MONTESSORI_1), now, config=config).kind is (
        WithinKind.next_year
    )


# ---- the intake rules -----------------------------------------------------------------------

NORRIS_REGULAR_7 = SeatKey(school="norris-elementary", program=Program.regular, grade=7)
ABBOTT_MONTESSORI_K = SeatKey(school="abbott-elementary", program=Program.montessori, grade=0)
UNKNOWN_SCHOOL_K = SeatKey(school="hogwarts", program=Program.regular, grade=0)
BRYAN_REGULAR_K = SeatKey(school="bryan-elementary", program=Program.regular, grade=0)  # unlisted
REAGAN_REGULAR_K = SeatKey(school="reagan-elementary", program=Program.regular, grade=0)  # 0 seats


@pytest.mark.parametrize(
    ("key", "fields", "student", "match"),
    [
        pytest.param(NORRIS_MONTESSORI_K, {"district": "elkhorn"}, {},
                     "request is for district 'elkhorn', not 'millard'", id="other-district"),
        pytest.param(UNKNOWN_SCHOOL_K, {}, {}, "school: unknown school 'hogwarts'",
                     id="unknown-school"),
        pytest.param(NORRIS_MONTESSORI_K, {}, {"home_school": "nowhere"},
                     "home_school: unknown school 'nowhere'", id="unknown-home-school"),
        pytest.param(NORRIS_MONTESSORI_K, {}, {"current_school": "nowhere"},
                     "current_school: unknown school 'nowhere'", id="unknown-current-school"),
        pytest.param(ABBOTT_MONTESSORI_K, {}, {}, "has no montessori program",
                     id="program-not-offered"),
        pytest.param(NORRIS_REGULAR_7, {}, {}, "has no grade 7", id="grade-not-at-school"),
        pytest.param(NORRIS_MONTESSORI_K, {}, {"currently_enrolled": False},
                     r"not currently enrolled .*\(I\.A\)", id="I.A-not-enrolled"),
        pytest.param(NORRIS_MONTESSORI_K, {}, {"residency": Residency.non_resident},
                     r"reside in the District \(II\.A\)", id="II-non-resident"),
        pytest.param(NORRIS_MONTESSORI_K, {}, {"suspended": True},
                     r"during a suspension \(III\.A\)", id="III.A-suspended"),
        pytest.param(NORRIS_MONTESSORI_K, {}, {"expelled": True},
                     r"during an expulsion \(III\.A\)", id="III.A-expelled"),
        pytest.param(NORRIS_MONTESSORI_K, {}, {"suspended": True, "extensive_disciplinary_record":
                     True}, r"\(III\.A\)", id="III.A-suspended-with-record"),
        pytest.param(NORRIS_MONTESSORI_K, {}, {"transfers_this_year": 1},
                     r"already transferred this school year.*\(IV\.G\)", id="IV.G-second"),
        pytest.param(NORRIS_MONTESSORI_K, {}, {"transfers_this_year": 3}, r"\(IV\.G\)",
                     id="IV.G-fourth"),
        pytest.param(BRYAN_REGULAR_K, {}, {}, r"bryan-elementary is not open .*\(VII\)",
                     id="VII-not-listed"),
        pytest.param(REAGAN_REGULAR_K, {}, {}, r"reagan-elementary is not open .*\(VII\)",
                     id="VII-zero-seats"),
        pytest.param(ABBOTT_REGULAR_K, {}, {"residency": Residency.attendance_area},
                     r"needs no transfer \(VIII\.C\.1\)", id="own-area-regular-program"),
        pytest.param(NORRIS_MONTESSORI_K, {}, {"current_school": "norris-elementary",
                                               "current_program": Program.montessori},
                     r"already attends the montessori program at norris-elementary",
                     id="already-attends"),
    ],
)
def test_intake_refusals(
    engine: Engine, key: SeatKey, fields: dict[str, Any], student: dict[str, Any], match: str
) -> None:
    refused(engine, millard_request(1, key, fields=fields, **student), NEXT_YEAR_NOW, match)
    # The same request without the one problem is accepted.
    fine = millard_request(1, NORRIS_MONTESSORI_K)
    assert accepted(engine, fine, NEXT_YEAR_NOW).kind is WithinKind.next_year


def test_seats_open_in_another_school_year_do_not_count(engine: Engine) -> None:
    """VII: the district file opens Norris Montessori K for 2027-2028 only."""
    now = chicago(2026, 10, 1, 12, 0)  # IX.A for 2026-2027 as well as VIII.A for 2027-2028
    assert window_for(MILLARD, "2026-2027", now) is WithinKind.current_year
    refused(engine, millard_request(1, year="2026-2027"), now, r"not open .*\(VII\)")
    assert accepted(engine, millard_request(1), now).kind is WithinKind.next_year


def test_grade_outside_k12_is_not_a_valid_form() -> None:
    """I.A: kindergarten through twelfth grade; the form itself rejects other grades."""
    for grade in (-1, 13):
        with pytest.raises(ValidationError, match="grade"):
            millard_request(1, NORRIS_MONTESSORI_K, grade=grade)
        with pytest.raises(ValidationError):
            WithinStudent(id="S1", first_name="A", last_name="B", grade=grade,
                          residency=Residency.other_resident, home_school="abbott-elementary",
                          current_school="abbott-elementary")


@pytest.mark.parametrize(
    ("key", "fields", "student"),
    [
        pytest.param(NORRIS_MONTESSORI_K, {}, {"extensive_disciplinary_record": True},
                     id="III.A-extensive-record-flagged-not-refused"),
        pytest.param(NORRIS_MONTESSORI_K, {}, {"special_education": True}, id="III.C-flagged"),
        pytest.param(NORRIS_MONTESSORI_K, {}, {"english_learner": True}, id="III.D-flagged"),
        pytest.param(NORRIS_MONTESSORI_K, {"special_issue": SpecialIssue.safety},
                     {"transfers_this_year": 1}, id="IV.G-safety"),
        pytest.param(NORRIS_MONTESSORI_K, {"special_issue": SpecialIssue.health},
                     {"transfers_this_year": 1}, id="IV.G-health"),
        pytest.param(NORRIS_MONTESSORI_K, {"special_issue": SpecialIssue.program},
                     {"transfers_this_year": 2}, id="IV.G-program"),
        pytest.param(NORRIS_MONTESSORI_K, {"special_issue": SpecialIssue.safety}, {},
                     id="IV.G-issue-without-earlier-transfer"),
        pytest.param(NORRIS_MONTESSORI_K, {}, {"residency": Residency.option_enrollment},
                     id="II.B-option-enrollment"),
        pytest.param(ABBOTT_REGULAR_K, {}, {"residency": Residency.option_enrollment,
                                            "current_school": "bryan-elementary"},
                     id="II.B-option-enrollment-regular"),
        pytest.param(NORRIS_MONTESSORI_K, {}, {"residency": Residency.attendance_area,
                                               "home_school": "norris-elementary",
                                               "current_school": "norris-elementary"},
                     id="own-area-special-program"),
        pytest.param(NORRIS_MONTESSORI_K, {}, {"current_school": "norris-elementary"},
                     id="same-school-other-program"),
        pytest.param(NORRIS_MONTESSORI_K, {}, {"current_school": "rockwell-elementary",
                                               "current_program": Program.montessori},
                     id="same-program-other-school"),
    ],
)
def test_intake_acceptances(
    engine: Engine, key: SeatKey, fields: dict[str, Any], student: dict[str, Any]
) -> None:
    request = millard_request(1, key, fields=fields, **student)
    inp = accepted(engine, request, NEXT_YEAR_NOW)
    assert inp.kind is WithinKind.next_year
    assert inp.lottery_id == f"lottery-millard-{YEAR}"
    assert inp.id == base_id(engine, "millard", YEAR, "S00001")
    # The flags travel with the request for the workflow to act on (III.A, III.C, III.D).
    assert inp.request.student == request.student


# ---- VI.C: one open request per student, and the id ---------------------------------------


@pytest.mark.parametrize("stage", sorted(OPEN_WITHIN_STAGES))
def test_an_open_request_of_the_student_refuses_another(
    engine: Engine, stage: WithinStage
) -> None:
    existing = record(engine, millard_request(1, NORRIS_MONTESSORI_K), stage)
    assert records.find_open_request(engine, "millard", "S00001", YEAR) == existing
    other_seat = SeatKey(school="rockwell-elementary", program=Program.montessori, grade=0)
    refused(engine, millard_request(1, other_seat), NEXT_YEAR_NOW,
            rf"student S00001 already has an open within-district request \({existing}\).*VI\.C")


@pytest.mark.parametrize("stage", sorted(ENDED_WITHIN_STAGES | {WithinStage.placed}))
def test_a_closed_request_does_not_block_and_the_new_one_gets_a_suffix(
    engine: Engine, stage: WithinStage
) -> None:
    first = record(engine, millard_request(1), stage)
    assert first == base_id(engine, "millard", YEAR, "S00001")
    inp = accepted(engine, millard_request(1), NEXT_YEAR_NOW)
    assert inp.id == f"{first}-2"


def test_the_suffix_counts_past_every_earlier_closed_request(engine: Engine) -> None:
    base = base_id(engine, "millard", YEAR, "S00001")
    record(engine, millard_request(1), WithinStage.withdrawn)
    record(engine, millard_request(1), WithinStage.denied, request_id=f"{base}-2")
    assert accepted(engine, millard_request(1), NEXT_YEAR_NOW).id == f"{base}-3"


def test_the_id_hides_the_student_and_depends_on_district_student_and_year(
    engine: Engine,
) -> None:
    inp = accepted(engine, millard_request(1), NEXT_YEAR_NOW)
    assert inp.id == base_id(engine, "millard", YEAR, "S00001")
    assert inp.id.startswith(f"millard-{YEAR}-within-")
    assert "S00001" not in inp.id
    assert accepted(engine, millard_request(2), NEXT_YEAR_NOW).id != inp.id
    # A closed request of the same student for another year is no reason for a suffix.
    record(engine, millard_request(1, year="2026-2027"), WithinStage.placed)
    assert accepted(engine, millard_request(1), NEXT_YEAR_NOW).id == inp.id


def test_open_requests_of_others_do_not_block(engine: Engine) -> None:
    record(engine, millard_request(2), WithinStage.in_lottery)  # another student
    elsewhere = millard_request(1, fields={"district": "elkhorn"})
    record(engine, elsewhere, WithinStage.in_lottery)  # the same id in another district
    inp = accepted(engine, millard_request(1), NEXT_YEAR_NOW)
    assert inp.id == base_id(engine, "millard", YEAR, "S00001")


def test_an_open_request_for_another_school_year_also_blocks(engine: Engine) -> None:
    now = chicago(2026, 10, 1, 12, 0)  # IX.A for 2026-2027 and VIII.A for 2027-2028
    current = millard_request(1, NORRIS_MONTESSORI_K, year="2026-2027")
    existing = record(engine, current, WithinStage.under_review, kind=WithinKind.current_year)
    refused(engine, millard_request(1, NORRIS_MONTESSORI_1), now,
            rf"already has an open within-district request \({existing}\)")


def test_residency_must_agree_with_the_home_school(engine: Engine) -> None:
    request = millard_request(1, NORRIS_MONTESSORI_K, residency=Residency.attendance_area,
                              home_school="abbott-elementary")
    refused(engine, request, NEXT_YEAR_NOW, "attendance")


# ---- IV.D: the level's end, and kind / lottery id per window ------------------------------


@pytest.mark.parametrize(
    ("key", "school_now", "ends"),
    [
        pytest.param(NORRIS_MONTESSORI_K, "abbott-elementary", date(2033, 6, 30), id="K-of-K5"),
        pytest.param(NORRIS_MONTESSORI_1, "abbott-elementary", date(2032, 6, 30), id="1-of-K5"),
        pytest.param(SeatKey(school="wheeler-elementary", program=Program.regular, grade=5),
                     "abbott-elementary", date(2028, 6, 30), id="5-of-K5"),
        pytest.param(SeatKey(school="north-middle", program=Program.ib, grade=6),
                     "abbott-elementary", date(2030, 6, 30), id="6-of-6-8"),
        pytest.param(SeatKey(school="kiewit-middle", program=Program.regular, grade=7),
                     "beadle-middle", date(2029, 6, 30), id="7-of-6-8"),
        pytest.param(SeatKey(school="north-high", program=Program.ib, grade=9),
                     "central-middle", date(2031, 6, 30), id="9-of-9-12"),
        pytest.param(SeatKey(school="south-high", program=Program.regular, grade=10),
                     "west-high", date(2030, 6, 30), id="10-of-9-12"),
    ],
)
@pytest.mark.parametrize(
    ("now", "kind"),
    [
        pytest.param(NEXT_YEAR_NOW, WithinKind.next_year, id="next-year"),
        pytest.param(chicago(2027, 5, 1), WithinKind.reopened, id="reopened"),
        pytest.param(chicago(2027, 10, 1), WithinKind.current_year, id="current-year"),
    ],
)
def test_kind_lottery_and_level_ends(
    engine: Engine, key: SeatKey, school_now: str, ends: date, now: datetime, kind: WithinKind
) -> None:
    request = millard_request(1, key, home_school=school_now, current_school=school_now)
    inp = accepted(engine, request, now)
    assert inp.kind is kind
    assert inp.lottery_id == (None if kind is WithinKind.current_year else "lottery-millard-"
                              + YEAR)
    assert inp.level_ends == ends
