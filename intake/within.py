"""A within-district transfer request at intake (seed 004, Rule 5110.1): every intake rule
is checked before anything starts, so a refused request changes nothing; `app.submissions`
then enters the application in the lottery (next year, reopened window) and starts the
request's workflow.

The lottery workflow of a district and school year starts with its first application; the
seats it draws are the district file's ``open_seats`` (VII), and the staff with the
``seat_setter`` role are the ones who set them, so none of them may certify the draw."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine

from districts import UnknownDistrictError, load_district, load_within_district
from intake.forms import read_form, validate_form
from intake.ids import next_free_id, request_id_base
from intake.paper import check_paper
from models.within_district_config import WithinDistrictConfig
from models.within_request import (
    WithinKind,
    WithinPolicy,
    WithinRequest,
    WithinRequestInput,
)
from rules import within_eligibility, within_windows
from rules.errors import PolicyError
from rules.roles import ROLE_SEAT_SETTER
from rules.within_levels import level_ends
from store import records
from workflows.lottery import lottery_id

PROCESS = "within"


def parse_within_file(path: Path) -> WithinRequest:
    return validate_form(WithinRequest, read_form(path), path.name)


def window_for(
    config: WithinDistrictConfig, school_year: str, now: datetime, in_person: bool = True
) -> WithinKind:
    """Which window ``now`` falls in for ``school_year`` (``rules.within_windows.window_kind``),
    for a school year in the district's calendar; ``in_person``: a form delivered in person
    (VIII.A.2's 5:00 p.m. close), as anything staff enter is; False for the parent's own
    application on the portal."""
    within_windows.check_aware(now)  # before the calendar: a naive time is refused first
    year = config.calendar.get(school_year)
    if year is None:
        known = ", ".join(sorted(config.calendar))
        raise PolicyError(
            f"school year {school_year} is not in {config.id}'s calendar (known: {known})"
        )
    return within_windows.window_kind(
        config.within_district, school_year, year.first_day, config.timezone, now, in_person
    )


def policy_for_within(config: WithinDistrictConfig) -> WithinPolicy:
    return WithinPolicy(
        district_id=config.id,
        district_name=config.name,
        timezone=config.timezone,
        contact=config.contact,
        notices_from=str(config.notices_from),
        staff_notices_to=[str(a) for a in config.staff_notices_to],
        schools={s.id: s.name for s in config.schools},
    )


def prepare_within(
    request: WithinRequest,
    config: WithinDistrictConfig,
    now: datetime,
    engine: Engine,
    submitted_by: str,
    received_at: datetime | None = None,
    received_by: str | None = None,
    online: bool = False,
) -> WithinRequestInput:
    """Every intake rule (I, II, III.A, IV.G, VI.C, VII, VIII.A, IX.A); the review flags of
    III.A, III.C and III.D are the workflow's to act on. ``now`` is the submitting machine's
    clock, for early feedback only: the workflows judge again on theirs (docs/cross-cutting.md
    "One clock for intake"). A paper form gives when (``received_at``) and by whom it was
    received: its window is the one it was received in. ``online``: the parent submitted it
    (the portal); any other application reached staff in person, and closes at 5:00 p.m.
    (VIII.A.2). The lottery judges the channel again from the proof of who entered it."""
    if request.district != config.id:
        raise PolicyError(f"request is for district {request.district!r}, not {config.id!r}")
    check_paper(config, received_at, received_by, now)
    student = request.student
    for what, school_id in (
        ("school", request.school),
        ("home_school", student.home_school),
        ("current_school", student.current_school),
    ):
        if config.school(school_id) is None:
            raise PolicyError(f"{what}: unknown school {school_id!r} in {config.id}")
    school = config.school(request.school)
    assert school is not None
    if request.program not in school.programs:
        offered = ", ".join(p.value for p in school.programs)
        raise PolicyError(
            f"{school.name} has no {request.program.value} program (it offers {offered})"
        )
    if not school.has_grade(student.grade):
        raise PolicyError(
            f"{school.name} has no grade {student.grade} (grades {school.lowest_grade}-"
            f"{school.highest_grade})"
        )
    within_eligibility.check_enrolled(student.currently_enrolled, student.grade)
    within_eligibility.check_residency(student.residency)
    within_eligibility.check_residency_matches(
        student.residency, student.home_school, request.school
    )
    within_eligibility.check_discipline(student.suspended, student.expelled)
    within_eligibility.check_one_transfer_per_year(
        student.transfers_this_year, request.special_issue
    )
    in_person = not online or received_at is not None
    kind = window_for(config, request.school_year, received_at or now, in_person)
    within_eligibility.check_open(request.seat_key, config.seats_for(request.school_year))
    within_eligibility.check_needs_transfer(
        request.applicant("check"), student.current_program
    )
    # VI.C: "only one ... at any given time": an open request of any school year counts.
    existing = records.find_open_request(engine, config.id, student.id, None, records.WITHIN)
    within_eligibility.check_one_open_request(student.id, [existing] if existing else [])
    base = request_id_base(engine, config.id, request.school_year, PROCESS, student.id)
    return WithinRequestInput(
        id=next_free_id(engine, base),
        request=request,
        kind=kind,
        policy=policy_for_within(config),
        submitted_by=submitted_by,
        lottery_id=None if kind is WithinKind.current_year else lottery_id(
            config.id, request.school_year
        ),
        level_ends=level_ends(request.school_year, student.grade, school.highest_grade),
        level_last_grade=school.highest_grade,
        received_at=received_at,
        received_by=received_by,
        windows=within_windows.year_windows(
            config.within_district, request.school_year,
            config.calendar[request.school_year].first_day, config.timezone,
        ),
        paper_entry_days=config.paper_entry_days,
    )


def seat_setters(config: WithinDistrictConfig) -> str:
    names = [m.name for m in config.with_role(ROLE_SEAT_SETTER)]
    if not names:
        raise PolicyError(f"{config.id} names no staff member with the {ROLE_SEAT_SETTER} role")
    return ", ".join(names)


def within_district_of(
    form: object, districts_dir: Path | None, cache: dict[str, WithinDistrictConfig | None]
) -> WithinDistrictConfig | None:
    """The district of a within-district form, or None for an interdistrict one: a form
    without a ``direction`` whose district file describes a within-district district."""
    if not isinstance(form, dict) or "direction" in form:
        return None
    district_id = form.get("district")
    if not isinstance(district_id, str):
        return None
    if district_id not in cache:
        try:
            cache[district_id] = load_within_district(district_id, districts_dir)
        except UnknownDistrictError as error:
            raise PolicyError(str(error).strip('"')) from None
        except ValueError as error:
            # Not a within-district file: an interdistrict one, or a broken within one.
            try:
                interdistrict = load_district(district_id, districts_dir).interdistrict is not None
            except ValueError:
                interdistrict = False
            if not interdistrict:
                raise PolicyError(str(error)) from None
            cache[district_id] = None
    return cache[district_id]
