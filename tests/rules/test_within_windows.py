"""rules/within_windows.py, rules/within_eligibility.py and districts/millard.toml:
Rule 5110.1 I-IV, VI-IX (seed 004)."""

from __future__ import annotations

import tomllib
from datetime import UTC, date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from districts import SHIPPED_DIR, load_district, load_within_district
from models.within_district import Applicant, Level, Program, Residency, SeatKey, SpecialIssue
from models.within_district_config import WithinDistrictConfig, WithinDistrictSettings
from models.within_request import WithinKind
from rules import within_eligibility as elig
from rules import within_windows as windows
from rules.errors import PolicyError
from rules.roles import ROLE_LOTTERY_CERTIFIER, ROLE_SEAT_SETTER

CHI = "America/Chicago"
YEAR = "2027-2028"
FIRST_DAY = date(2027, 8, 12)  # Millard's illustrative first day of 2027-2028


def chicago(*args: int) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(CHI))


# The windows as intake asks them (``window_kind``): the seed's dates, and Millard's
# reopening the day after option enrollment completes on April 1.
SEED_DATES = WithinDistrictSettings()
REOPENS = WithinDistrictSettings(option_enrollment_complete={YEAR: date(2027, 4, 1)})


def kind(
    now: datetime, settings: WithinDistrictSettings = SEED_DATES, in_person: bool = False
) -> WithinKind:
    return windows.window_kind(settings, YEAR, FIRST_DAY, CHI, now, in_person)


def refused(now: datetime, settings: WithinDistrictSettings = SEED_DATES) -> str:
    with pytest.raises(PolicyError, match=f"no window for {YEAR} is open") as caught:
        kind(now, settings)
    return str(caught.value)


def refused_in_person(now: datetime, settings: WithinDistrictSettings = SEED_DATES) -> str:
    with pytest.raises(PolicyError, match=f"forms delivered in person for {YEAR} closed"
                       ) as caught:
        kind(now, settings, in_person=True)
    return str(caught.value)


# ---- VIII.A: next school year --------------------------------------------------------


def test_next_year_window_opens_september_1_of_the_preceding_year() -> None:
    w = windows.next_year_window(YEAR, CHI)
    assert w.opens == chicago(2026, 9, 1, 0, 0)
    assert kind(chicago(2026, 9, 1, 0, 0)) is WithinKind.next_year
    message = refused(chicago(2026, 8, 31, 23, 59, 59))
    assert "next-year applications run from 2026-09-01T00:00:00-05:00" in message
    assert "(VIII.A)" in message


def test_16_59_59_on_february_15_is_on_time_in_person_and_online() -> None:
    assert kind(chicago(2027, 2, 15, 16, 59, 59), in_person=True) is WithinKind.next_year
    assert kind(chicago(2027, 2, 15, 16, 59, 59)) is WithinKind.next_year


def test_17_00_00_on_february_15_is_late_in_person_but_not_online() -> None:
    # VIII.A.2: "by personal delivery, received no later than 5:00 p.m. on February 15"
    w = windows.next_year_window(YEAR, CHI)
    assert w.in_person_closes == chicago(2027, 2, 15, 17, 0, 0)
    message = refused_in_person(chicago(2027, 2, 15, 17, 0, 0))
    assert "closed at 2027-02-15T17:00:00-06:00 (VIII.A.2" in message
    assert "submitted online are taken until 2027-02-16T00:00:00-06:00" in message
    # ... "submitted online by on or before February 15": the same instant is on time online
    assert kind(chicago(2027, 2, 15, 17, 0, 0)) is WithinKind.next_year


def test_online_applications_close_at_the_end_of_february_15() -> None:
    w = windows.next_year_window(YEAR, CHI)
    assert w.closes == chicago(2027, 2, 16, 0, 0, 0)
    assert kind(chicago(2027, 2, 15, 23, 59, 59)) is WithinKind.next_year
    message = refused(chicago(2027, 2, 16, 0, 0, 0))
    assert "until 2027-02-16T00:00:00-06:00 (forms delivered in person until " \
        "2027-02-15T17:00:00-06:00) (VIII.A)" in message
    # A form delivered in person after midnight is in no window either.
    with pytest.raises(PolicyError, match=f"no window for {YEAR} is open"):
        kind(chicago(2027, 2, 16, 0, 0, 0), in_person=True)


def test_a_district_may_close_online_applications_at_5pm_too() -> None:
    one_close = WithinDistrictSettings(online_until_end_of_day=False)
    w = windows.district_next_year_window(one_close, YEAR, CHI)
    assert (w.closes, w.in_person_closes) == (chicago(2027, 2, 15, 17, 0, 0), None)
    assert "until 2027-02-15T17:00:00-06:00 (VIII.A)" in refused(
        chicago(2027, 2, 15, 17, 0, 0), one_close)


def test_the_5pm_close_is_central_time_whatever_zone_the_receipt_is_in() -> None:
    # 17:00 CST is 23:00 UTC; 22:59:59 UTC is on time, 23:00:00 UTC late
    assert kind(datetime(2027, 2, 15, 22, 59, 59, tzinfo=UTC), in_person=True) \
        is WithinKind.next_year
    assert "(VIII.A.2" in refused_in_person(datetime(2027, 2, 15, 23, 0, 0, tzinfo=UTC))
    # 16:00 in Los Angeles is 18:00 in Chicago: late, though "before 5 p.m." where it was sent
    la = datetime(2027, 2, 15, 16, 0, tzinfo=ZoneInfo("America/Los_Angeles"))
    assert "closed at 2027-02-15T17:00:00-06:00" in refused_in_person(la)
    # the online close is midnight in Chicago: 22:00 in Los Angeles is already late
    assert "open at 2027-02-16T00:00:00-06:00" in refused(
        datetime(2027, 2, 15, 22, 0, tzinfo=ZoneInfo("America/Los_Angeles")))


def test_a_naive_receipt_time_is_refused() -> None:
    with pytest.raises(PolicyError, match="time zone"):
        kind(datetime(2027, 1, 5, 9, 0))


def test_the_districts_settings_move_the_next_year_window() -> None:
    later = WithinDistrictSettings(
        next_year_opens_month=10, next_year_closes_month=3, next_year_closes_time=time(12, 0)
    )
    w = windows.district_next_year_window(later, YEAR, CHI)
    assert (w.opens, w.in_person_closes, w.closes) == (
        chicago(2026, 10, 1, 0, 0), chicago(2027, 3, 15, 12, 0), chicago(2027, 3, 16, 0, 0))
    assert kind(chicago(2027, 3, 15, 11, 59, 59), later, in_person=True) is WithinKind.next_year
    assert "closed at 2027-03-15T12:00:00-05:00" in refused_in_person(
        chicago(2027, 3, 15, 12, 0), later)


def test_notice_due_march_1_and_escalation_before_it() -> None:
    assert windows.notify_by(YEAR) == date(2027, 3, 1)
    assert windows.certification_escalation_day(date(2027, 3, 1), 7) == date(2027, 2, 22)
    assert windows.offer_accept_last_day(date(2027, 3, 5)) == date(2027, 3, 15)


# ---- IX.A: current school year -------------------------------------------------------


def test_current_year_window_opens_on_the_first_day_of_school() -> None:
    assert windows.current_year_window(FIRST_DAY, CHI).opens == chicago(2027, 8, 12, 0, 0)
    assert windows.school_starts(FIRST_DAY, CHI) == chicago(2027, 8, 12, 0, 0)
    assert kind(chicago(2027, 8, 12, 0, 0)) is WithinKind.current_year
    assert kind(chicago(2027, 8, 12, 7, 0)) is WithinKind.current_year
    message = refused(chicago(2027, 8, 11, 23, 59))
    assert "current-year applications from the first day of school until 2028-01-15 (IX.A)" in (
        message
    )


def test_january_14_is_accepted_and_january_15_refused() -> None:
    assert kind(chicago(2028, 1, 14, 23, 59, 59)) is WithinKind.current_year
    assert "until 2028-01-15 (IX.A)" in refused(chicago(2028, 1, 15, 0, 0))
    assert windows.current_year_closing_day(FIRST_DAY) == date(2028, 1, 15)


# ---- VIII.A.3: the reopened window ---------------------------------------------------


def test_reopened_window_runs_from_the_day_after_option_enrollment_to_first_day() -> None:
    done = date(2027, 4, 1)
    w = windows.reopened_window(done, FIRST_DAY, CHI)
    assert (w.opens, w.closes) == (chicago(2027, 4, 2, 0, 0), chicago(2027, 8, 12, 0, 0))
    assert windows.reopening(done, CHI) == w.opens
    for inside in (chicago(2027, 4, 2, 0, 0), chicago(2027, 8, 11, 23, 59)):
        assert w.contains(inside) and kind(inside, REOPENS) is WithinKind.reopened
    for late_or_early in (chicago(2027, 4, 1, 23, 59), chicago(2027, 8, 12, 0, 0)):
        assert not w.contains(late_or_early)
    assert "it reopens the day after 2027-04-01 (VIII.A.3)" in refused(
        chicago(2027, 4, 1, 23, 59), REOPENS
    )
    # The first day of school: the reopened window has closed and the current year's opened.
    assert kind(chicago(2027, 8, 12, 0, 0), REOPENS) is WithinKind.current_year
    with pytest.raises(PolicyError, match="before the first day of school"):
        windows.reopened_window(FIRST_DAY, FIRST_DAY, CHI)


# ---- eligibility ---------------------------------------------------------------------


def test_i_a_currently_enrolled_k12_only() -> None:
    elig.check_enrolled(True, 0)
    elig.check_enrolled(True, 12)
    with pytest.raises(PolicyError, match="not currently enrolled"):
        elig.check_enrolled(False, 3)
    with pytest.raises(PolicyError, match="not K-12"):
        elig.check_enrolled(True, 13)


@pytest.mark.parametrize(
    "residency",
    [Residency.attendance_area, Residency.other_resident, Residency.option_enrollment],
)
def test_ii_residents_and_option_enrollment_are_eligible(residency: Residency) -> None:
    elig.check_residency(residency)


def test_ii_other_non_residents_are_refused_unless_extenuating() -> None:
    with pytest.raises(PolicyError, match=r"option enrollment \(II.B\)"):
        elig.check_residency(Residency.non_resident)
    elig.check_residency(Residency.non_resident, extenuating=True)


@pytest.mark.parametrize(
    ("suspended", "expelled", "message"),
    [(True, False, "during a suspension"), (False, True, "during an expulsion")],
)
def test_iii_a_suspended_or_expelled_is_refused(
    suspended: bool, expelled: bool, message: str
) -> None:
    with pytest.raises(PolicyError, match=message):
        elig.check_discipline(suspended=suspended, expelled=expelled)


def test_iii_a_extensive_record_is_flagged_not_refused() -> None:
    assert elig.check_discipline(False, False, extensive_record=True) == [
        elig.FLAG_EXTENSIVE_RECORD
    ]
    assert elig.check_discipline(False, False) == []


def test_iii_c_d_recommendations_are_flagged() -> None:
    assert elig.review_flags(special_education=True, english_learner=True) == [
        elig.FLAG_SPECIAL_EDUCATION,
        elig.FLAG_ENGLISH_LEARNER,
    ]
    assert elig.review_flags() == []


def test_vi_c_one_open_request_at_a_time() -> None:
    elig.check_one_open_request("s1", [])
    with pytest.raises(PolicyError, match=r"already has an open .* \(r-7\).*VI.C"):
        elig.check_one_open_request("s1", ["r-7"])


def test_iv_g_one_transfer_per_school_year() -> None:
    elig.check_one_transfer_per_year(0)
    with pytest.raises(PolicyError, match=r"IV.G"):
        elig.check_one_transfer_per_year(1)


@pytest.mark.parametrize("issue", list(SpecialIssue))
def test_iv_g_safety_health_program_allow_a_second_transfer(issue: SpecialIssue) -> None:
    elig.check_one_transfer_per_year(1, issue)
    elig.check_one_transfer_per_year(2, issue.value)


def test_iv_g_an_unknown_issue_does_not_pass() -> None:
    with pytest.raises(ValueError, match="convenience"):
        elig.check_one_transfer_per_year(1, "convenience")


def test_vii_only_open_school_program_grade_with_seats() -> None:
    open_key = SeatKey(school="north-high", program=Program.ib, grade=9)
    seats = {open_key: 25, SeatKey(school="reagan-elementary", program=Program.regular, grade=0): 0}
    elig.check_open(open_key, seats)
    for key in (
        SeatKey(school="north-high", program=Program.ib, grade=10),  # grade not open
        SeatKey(school="north-high", program=Program.regular, grade=9),  # program not open
        SeatKey(school="south-high", program=Program.ib, grade=9),  # school not open
        SeatKey(school="reagan-elementary", program=Program.regular, grade=0),  # zero seats
    ):
        with pytest.raises(PolicyError, match=r"not open to within-district transfers \(VII\)"):
            elig.check_open(key, seats)


def _applicant(**changes: object) -> Applicant:
    base = dict(
        application_id="a1",
        student_id="s1",
        school="norris-elementary",
        program=Program.montessori,
        grade=1,
        residency=Residency.other_resident,
        current_school="bell-elementary",
    )
    return Applicant.model_validate(base | changes)


def test_a_request_must_be_for_a_different_school_or_program() -> None:
    elig.check_needs_transfer(_applicant(), Program.regular)
    elig.check_needs_transfer(_applicant(current_school="norris-elementary"), Program.regular)
    with pytest.raises(PolicyError, match="already attends the montessori program"):
        elig.check_needs_transfer(
            _applicant(current_school="norris-elementary"), Program.montessori
        )
    with pytest.raises(PolicyError, match="needs no transfer"):
        elig.check_needs_transfer(
            _applicant(program=Program.regular, residency=Residency.attendance_area),
            Program.regular,
        )


# ---- districts/millard.toml ----------------------------------------------------------


def test_millard_config_loads_with_35_6_3_schools() -> None:
    config = load_within_district("millard")
    assert config.id == "millard" and config.timezone == CHI
    counts = {level: len(config.schools_at(level)) for level in Level}
    assert counts == {Level.elementary: 35, Level.middle: 6, Level.high: 3}
    assert set(config.calendar) >= {"2026-2027", "2027-2028"}
    settings = config.within_district
    assert (settings.next_year_opens_month, settings.next_year_opens_day) == (9, 1)
    assert (settings.next_year_closes_month, settings.next_year_closes_day) == (2, 15)
    assert settings.next_year_closes_time == time(17, 0)
    assert settings.offer_accept_days == 10
    assert settings.option_enrollment_complete[YEAR] < config.calendar[YEAR].first_day
    seats = config.seats_for(YEAR)
    assert seats[SeatKey(school="north-high", program=Program.ib, grade=9)] > 0
    assert config.overcrowded_schools() <= {s.id for s in config.schools}
    setters = {m.name for m in config.with_role(ROLE_SEAT_SETTER)}
    certifiers = {m.name for m in config.with_role(ROLE_LOTTERY_CERTIFIER)}
    assert setters and certifiers and setters.isdisjoint(certifiers)
    for role in ("superintendent_designee", "director_special_education", "student_services"):
        assert config.with_role(role)


def test_millard_file_also_reads_as_a_district_config() -> None:
    # districts.list_districts() sees every shipped TOML, so the shared keys must stay valid
    assert len(load_district("millard").schools) == 44


def _millard_data() -> dict:
    return tomllib.loads((SHIPPED_DIR / "millard.toml").read_text())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["open_seats"].append(dict(d["open_seats"][0])), "listed twice"),
        (lambda d: d["open_seats"][0].update(grade=9), "no such grade"),
        (lambda d: d["open_seats"][0].update(program="ib"), "does not offer the program"),
        (lambda d: d["open_seats"][0].update(school="atlantis"), "unknown school"),
        (lambda d: d["within_district"]["overcrowding"]["schools"].append("x"), "overcrowding"),
        (
            lambda d: d["schools"][1].update(attendance_area=d["schools"][0]["attendance_area"]),
            "own attendance area",
        ),
        (lambda d: d["schools"][0].update(highest_grade=7), "do not fit level"),
        (lambda d: d["staff"][3].update(roles=["seat_setter"]), "lottery certifier"),
        (lambda d: d.update(timezone="Mars/Olympus"), "unknown time zone"),
    ],
)
def test_a_bad_millard_file_is_refused(change, message: str) -> None:
    data = _millard_data()
    WithinDistrictConfig.model_validate(data)  # the unchanged file is valid
    change(data)
    with pytest.raises(ValueError, match=message):
        WithinDistrictConfig.model_validate(data)


def test_loader_names_the_file_and_checks_the_id(tmp_path: Path) -> None:
    text = (SHIPPED_DIR / "millard.toml").read_text()
    (tmp_path / "elkhorn.toml").write_text(text)
    with pytest.raises(ValueError, match="declares id 'millard'"):
        load_within_district("elkhorn", tmp_path)
    (tmp_path / "broken.toml").write_text("id = ")
    with pytest.raises(ValueError, match="broken.toml is invalid"):
        load_within_district("broken", tmp_path)
    with pytest.raises(LookupError, match="unknown district"):
        load_within_district("atlantis", tmp_path)
