"""A signed-in parent applies in the portal (docs/portal.md "Parents applying"): an
interdistrict permit (seed 000) or a within-district transfer (Rule 5110.1). The form's
fields become the same request the CLI's flags make, and go through the same intake
(`app.submissions`, `intake/`): nothing here checks a request itself. The parent is the
actor: the request is signed for them (subject ``parent:<address>``, role ``parent``), its
parent's address is theirs, and a student the roster links them to is taken with the
roster's facts."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from pydantic import ValidationError

from app import context
from app.errors import REFUSALS, Refused
from app.parent_signin import Parent
from app.roster import students_of_guardian
from intake.interdistrict import parse_request
from models.district import DistrictBase, DistrictConfig
from models.documents import DocumentKind
from models.people import Actor, Relationship
from models.requests import Direction, TransferReason
from models.roles import PARENT
from models.roster import RosterStudent
from models.within_district import Program, Residency
from models.within_district_config import WithinDistrictConfig
from rules import within_windows
from rules.calendar import local_date
from rules.documents import required_documents

INTERDISTRICT, WITHIN = "interdistrict", "within"
NOT_A_PARENT = "not_a_parent"  # the relationship a requester who is no parent declares
FORM = "form"  # an error that is no one field's
# This module's own refusals (web/apply_pages.py has them in the catalogs).
CHOOSE_STUDENT = "Choose one of your students."
NOT_YOURS = ("The district's records do not list you as this student's parent or guardian: "
             "choose your student above, or ask the district's office to add you.")


@dataclass(frozen=True)
class DistrictChoice:
    id: str
    name: str
    process: str  # interdistrict | within


@dataclass(frozen=True)
class YearWindow:
    """A within-district school year: open now (the window's kind) or when it opens next."""

    school_year: str
    open_kind: str | None
    closes: datetime | None
    opens: datetime | None


@dataclass
class Choices:
    """What the form offers: the district's years and schools, and the parent's students."""

    district: DistrictChoice
    timezone: str
    school_years: list[str]
    schools: list[tuple[str, str]]  # id, name
    students: list[RosterStudent]
    guardian_name: str
    windows: list[YearWindow] = field(default_factory=list)


class NotApplied(Exception):
    """The form was refused: each message by the field it belongs to (``FORM`` else)."""

    def __init__(self, errors: dict[str, str], opens: date | None = None) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors
        self.opens = opens  # a within-district year's opening day, when its window is shut


def districts() -> list[DistrictChoice]:
    """The deployment's districts a parent may apply to, by name."""
    from districts import list_districts

    found = []
    for district_id in list_districts(context.settings().districts_dir):
        try:
            config = context.district(district_id)
        except (Refused, ValueError):
            continue  # a file that does not load: the CLI says why
        process = _process(config)
        if process is not None:
            found.append(DistrictChoice(config.id, config.name, process))
    return sorted(found, key=lambda d: d.name)


def _process(config: DistrictConfig) -> str | None:
    if config.interdistrict is not None:
        return INTERDISTRICT
    try:
        context.within_district(config.id)
    except Refused:
        return None
    return WITHIN


def choices(parent: Parent, district_id: str, now: datetime | None = None) -> Choices:
    """The form's choices for ``district_id``; an unknown district is refused."""
    from districts import list_districts

    if district_id not in list_districts(context.settings().districts_dir):
        raise Refused(f"no district {district_id!r}")
    config = context.district(district_id)
    process = _process(config)
    if process is None:
        raise Refused(f"{district_id} takes no transfer requests")
    now = now or datetime.now(UTC)
    today = local_date(now, config.timezone)
    years = sorted(y for y, c in config.calendar.items() if c.last_day >= today)
    students, name = _family(parent, config.id)
    found = Choices(DistrictChoice(config.id, config.name, process), config.timezone, years,
                    [(s.id, s.name) for s in config.schools], students, name)
    if process == WITHIN:
        found.windows = windows(context.within_district(config.id), now)
    return found


def _family(parent: Parent, district_id: str) -> tuple[list[RosterStudent], str]:
    """The roster's students of the parent in the district, and the guardian's name."""
    guardians = [g for g in students_of_guardian(parent.email) if g.district == district_id]
    students = {s.identifier: s for g in guardians for s in g.students if s.active}
    name = next((f"{g.given_name} {g.family_name}" for g in guardians), "")
    return sorted(students.values(), key=lambda s: s.given_name), name


def windows(config: WithinDistrictConfig, now: datetime) -> list[YearWindow]:
    """Each school year's window now (VIII.A, IX.A): open, until when; or when it opens."""
    found = []
    for year, calendar_year in sorted(config.calendar.items()):
        spans = within_windows.year_windows(config.within_district, year,
                                            calendar_year.first_day, config.timezone)
        named = [("next_year", spans.next_year), ("reopened", spans.reopened),
                 ("current_year", spans.current_year)]
        open_now = next(((kind, s) for kind, s in named
                         if s is not None and s.opens <= now < s.closes), None)
        later = sorted(s.opens for _, s in named if s is not None and s.opens > now)
        if open_now is None and not later:
            continue  # over
        found.append(YearWindow(year, open_now[0] if open_now else None,
                                open_now[1].closes if open_now else None,
                                None if open_now else later[0]))
    return found


def checklist(direction: str, reason: str, has_iep_or_504: bool = False,
              self_employed: bool = False) -> list[DocumentKind]:
    """The documents the request will need (rules/documents.py), for the form's choices;
    none until a direction and a reason are chosen."""
    try:
        return required_documents(Direction(direction), TransferReason(reason), has_iep_or_504,
                                  self_employed)
    except ValueError:
        return []


# ---- applying ---------------------------------------------------------------------------


def _acting(parent: Parent) -> Callable[[DistrictBase], Actor]:
    """The submission's actor: the parent, proven as such (docs/cross-cutting.md "Proofs")."""
    from infra.proofs import ACTING, Acting

    name = f"parent {parent.email}"[:100]  # the audit's actor column holds 100

    def act(config: DistrictBase) -> Actor:
        ACTING.set(Acting(subject=f"parent:{parent.email}", name=name, roles=(PARENT,),
                          district=config.id))
        return Actor(name=name, roles=[PARENT])

    return act


def _text(fields: dict[str, str], name: str) -> str:
    return fields.get(name, "")


def _checked(fields: dict[str, str], name: str) -> bool:
    return fields.get(name) in ("on", "yes", "true", "1")


def _grade(fields: dict[str, str], name: str = "student.grade") -> int | str:
    value = _text(fields, name).strip()
    return int(value) if value.isdigit() else value  # anything else: the model names it


def _parent(parent: Parent, fields: dict[str, str], language: str) -> dict[str, object]:
    return {"name": _text(fields, "parent.name"), "email": parent.email,
            "relationship": _text(fields, "parent.relationship"), "language": language}


def _roster_student(parent: Parent, district_id: str, fields: dict[str, str]
                    ) -> RosterStudent | None:
    """The student picked from the parent's roster students; None for one typed in."""
    picked = _text(fields, "student")
    if not picked or picked == "new":
        return None
    students, _ = _family(parent, district_id)
    found = next((s for s in students if s.identifier == picked), None)
    if found is None:  # another family's id, or one the roster no longer has
        raise NotApplied({"student": CHOOSE_STUDENT})
    return found


def _not_anothers(parent: Parent, district_id: str, student_id: str) -> None:
    """A typed student the district's roster knows must be one it links to this parent: a
    parent applies for their own child only (EC 46600.1), and may not hold another's."""
    from app.roster import student_facts

    if student_id and (district_id, student_id) not in parent.students \
            and student_facts(district_id, student_id) is not None:
        raise NotApplied({"student.id": NOT_YOURS})


def interdistrict_form(parent: Parent, district_id: str, fields: dict[str, str],
                       language: str) -> dict[str, object]:
    """The request's fields as the CLI's flags give them: a roster student's id and name are
    the roster's (intake then takes its grade)."""
    known = _roster_student(parent, district_id, fields)
    year = _text(fields, "school_year")
    if known is not None:
        grade = known.grade_in(year) if re.fullmatch(r"\d{4}-\d{4}", year) else None
        student: dict[str, object] = {
            "id": known.identifier, "first_name": known.given_name,
            "last_name": known.family_name,
            "grade": grade if grade is not None else _grade(fields)}
    else:
        _not_anothers(parent, district_id, _text(fields, "student.id").strip())
        student = {"id": _text(fields, "student.id").strip(),
                   "first_name": _text(fields, "student.first_name"),
                   "last_name": _text(fields, "student.last_name"), "grade": _grade(fields)}
    student["has_iep_or_504"] = _checked(fields, "student.has_iep_or_504")
    form: dict[str, object] = {
        "district": district_id, "student": student, "parent": _parent(parent, fields, language),
        "direction": _text(fields, "direction"), "reason": _text(fields, "reason"),
        "school_year": year, "other_district": _text(fields, "other_district"),
        "self_employed": _checked(fields, "self_employed"),
        "details": _text(fields, "details"),
    }
    if _text(fields, "preferred_school"):
        form["preferred_school"] = _text(fields, "preferred_school")
    return form


def within_form(parent: Parent, config: WithinDistrictConfig, fields: dict[str, str],
                language: str) -> dict[str, object]:
    """A within-district request's fields: the student is one of the parent's roster
    students (I.A: currently enrolled), with the roster's schools and residency."""
    known = _roster_student(parent, config.id, fields)
    if known is None:
        raise NotApplied({"student": CHOOSE_STUDENT})
    school, year = _text(fields, "school"), _text(fields, "school_year")
    grade = known.grade_in(year) if re.fullmatch(r"\d{4}-\d{4}", year) else None
    home = known.home_school or ""
    residency = Residency.attendance_area if home == school else Residency.other_resident
    student = {"id": known.identifier, "first_name": known.given_name,
               "last_name": known.family_name,
               "grade": _grade(fields) if _text(fields, "student.grade") or grade is None
               else grade,
               "residency": residency.value, "home_school": home,
               "current_school": known.school or ""}
    return {"district": config.id, "school_year": year,
            "student": student, "parent": _parent(parent, fields, language), "school": school,
            "program": _text(fields, "program") or Program.regular.value,
            "resident_sibling": _checked(fields, "resident_sibling"),
            "reasons": _text(fields, "reasons")}


async def apply_interdistrict(parent: Parent, district_id: str, fields: dict[str, str],
                              language: str = "en") -> str:
    """Submit the parent's interdistrict request through the CLI's intake; its id."""
    from app.submissions import prepare_interdistrict

    form = interdistrict_form(parent, district_id, fields, language)
    try:
        prepared = prepare_interdistrict(parse_request(form, "the form"), _acting(parent))
        await prepared.start(await context.client())
    except (*REFUSALS, ValidationError) as error:
        errors = field_errors(str(error))
        if "school" in errors:  # the only school an interdistrict form names
            errors["preferred_school"] = errors.pop("school")
        raise NotApplied(errors) from None
    await _recorded(prepared.id)
    return prepared.id


async def apply_within(parent: Parent, district_id: str, fields: dict[str, str],
                       language: str = "en", now: datetime | None = None) -> str:
    """Submit the parent's within-district request through the CLI's intake; its id."""
    from app.submissions import prepare_within_form

    config = context.within_district(district_id)
    form = within_form(parent, config, fields, language)
    try:
        prepared = prepare_within_form(form, "the form", config, _acting(parent))
        await prepared.start(await context.client())
    except (*REFUSALS, ValidationError) as error:
        errors = field_errors(str(error))
        opens = None
        if "school_year" in errors:
            opens = _opens(config, _text(fields, "school_year"), now or datetime.now(UTC))
        raise NotApplied(errors, opens) from None
    await _recorded(prepared.id)
    return prepared.id


RECORD_WAIT = 10.0  # seconds; a worker records a new request in well under one


async def _recorded(request_id: str) -> None:
    """Until the worker has written the new request to the records store, which the status
    page the parent lands on reads (the start returns after the workflow's first task, the
    record is its first activity); at most ``RECORD_WAIT``, then the page may say it is not
    there yet."""
    from store import records

    loop = asyncio.get_running_loop()
    deadline = loop.time() + RECORD_WAIT
    while records.get_request(context.engine(), request_id) is None and loop.time() < deadline:
        await asyncio.sleep(0.05)


def _opens(config: WithinDistrictConfig, school_year: str, now: datetime) -> date | None:
    """When applications for ``school_year`` open next, in the district's zone."""
    for window in windows(config, now):
        if window.school_year == school_year and window.opens is not None:
            return local_date(window.opens, config.timezone)
    return None


# ---- errors to fields -------------------------------------------------------------------

# Intake's own refusals, by the words that name their field (intake/, rules/).
_BY_WORDS: tuple[tuple[str, str], ...] = (
    ("requester relationship", "parent.relationship"),
    ("no window for", "school_year"),
    ("school year", "school_year"),
    ("preferred_school", "preferred_school"),
    ("unknown school", "school"),
    ("already has an open request", "student"),
    ("has no grade", "student.grade"),
    (" program (it offers", "program"),
    ("VIII.C", "school"),
    ("no seats", "school"),
)


def field_errors(message: str) -> dict[str, str]:
    """Intake's message split by field: a form's "is invalid: a.b: ...; c: ..." names each
    field; another refusal is placed by its words. Each message is kept whole."""
    found: dict[str, str] = {}
    if " is invalid: " in message:
        for part in message.split(" is invalid: ", 1)[1].split("; "):
            name, _, said = part.partition(": ")
            key = _field_of(name.strip())
            found[key] = f"{found[key]}; {part}" if key in found else part
        return found
    lowered = message.lower()
    key = next((f for words, f in _BY_WORDS if words.lower() in lowered), FORM)
    return {key: message}


def _field_of(location: str) -> str:
    """A pydantic location as the form's field: ``parent.email`` is the signed-in address."""
    if location.startswith("parent.email"):
        return FORM
    if location.startswith("student.") and location.count(".") > 1:
        return location.rsplit(".", 1)[0]
    return location


RELATIONSHIPS = [r.value for r in Relationship]
DIRECTIONS = [d.value for d in Direction]
REASONS = [r.value for r in TransferReason]
PROGRAMS = [p.value for p in Program]
