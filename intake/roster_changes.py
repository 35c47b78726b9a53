"""A checked OneRoster export (`intake.oneroster`) made into the rows the records store keeps
(`store.roster.Changes`; docs/cross-cutting.md "Roster"): each student's school, home school
and attendance area as the district file's ids, the grade in the roster's school year, each
guardian's address and the links between them."""

from __future__ import annotations

from typing import Any

from intake.oneroster import Person, RosterExport
from models.roster import PersonKind
from store.roster import Changes


def changes_for(
    export: RosterExport, school_year: str, areas: dict[str, str],
    known_orgs: dict[str, str] | None = None,
) -> Changes:
    """``school_year``: the year the roster's grades are in; ``areas``: the district file's
    attendance area of each school that has one (within-district districts); ``known_orgs``:
    the schools the store holds (a delta file may name them without repeating them)."""
    school_of = {**(known_orgs or {}), **{sid: s.school_id for sid, s in export.schools.items()}}
    changes = Changes(
        schools={sid: {"school_id": s.school_id, "name": s.name, "active": True}
                 for sid, s in export.schools.items()},
        gone_schools=set(export.gone_orgs),
        replace_schools=export.modes["orgs"] == "bulk",
        gone_people=set(export.gone_people),
        replace_everything=export.bulk_users,
        links={student: set(guardians) for student, guardians in export.guardians_of.items()},
    )
    for sourced_id, person in export.people.items():
        changes.people[sourced_id] = _row(person, school_year, school_of, areas)
    return changes


def _row(
    person: Person, school_year: str, school_of: dict[str, str], areas: dict[str, str]
) -> dict[str, Any]:
    student = person.kind is PersonKind.student
    school = school_of.get(person.school) if person.school else None
    home = school_of.get(person.home_school) if person.home_school else None
    return {
        "kind": person.kind.value,
        "role": person.role,
        "identifier": person.identifier,
        "given_name": person.given_name,
        "family_name": person.family_name,
        "email": person.email,
        "email_key": person.email.lower() if person.email else None,
        "grade": person.grade if student else None,
        "school_year": school_year,
        "school_id": school,
        "home_school_id": home,
        "attendance_area": areas.get(home) if home else None,
        "active": True,
    }
