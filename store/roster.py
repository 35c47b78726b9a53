"""The district's roster in the records store (docs/cross-cutting.md "Roster"): an import
written in one transaction, row by row only where something changed (the same export twice
changes nothing), and the look-ups intake and the portal make."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, and_, bindparam, delete, func, insert, select, text
from sqlalchemy.orm import Session, aliased

from models.roster import PersonKind, RosterGuardian, RosterStudent
from store.schema import RosterLinkRow, RosterPersonRow, RosterSchoolRow

# The columns of a person that an import sets (all but the keys and the time of change).
PERSON_FIELDS = ("kind", "role", "identifier", "given_name", "family_name", "email",
                 "email_key", "grade", "school_year", "school_id", "home_school_id",
                 "attendance_area", "active")
SCHOOL_FIELDS = ("school_id", "name", "active")


@dataclass
class Stored:
    """What the store holds of a district's roster: enough to check a delta file against."""

    orgs: dict[str, str]  # an active school's sourcedId -> the district file's school id
    people: dict[str, PersonKind]  # an active person's sourcedId -> kind


@dataclass
class Changes:
    """What an import writes: the rows as they are to be, and who is gone."""

    schools: dict[str, dict[str, Any]] = field(default_factory=dict)
    gone_schools: set[str] = field(default_factory=set)
    people: dict[str, dict[str, Any]] = field(default_factory=dict)
    gone_people: set[str] = field(default_factory=set)
    replace_everything: bool = False  # a bulk users file: whoever it does not hold is gone
    replace_schools: bool = False  # a bulk orgs file
    # A student's guardians: replaced for the students of the export, added to for others.
    links: dict[str, set[str]] = field(default_factory=dict)


@dataclass
class Counts:
    added: int = 0
    updated: int = 0
    gone: int = 0
    unchanged: int = 0
    links_added: int = 0
    links_removed: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.gone or self.links_added
                    or self.links_removed)


def stored(engine: Engine, district: str) -> Stored:
    with Session(engine) as session:
        orgs = dict(session.execute(
            select(RosterSchoolRow.sourced_id, RosterSchoolRow.school_id)
            .where(RosterSchoolRow.district == district, RosterSchoolRow.active)
        ).all())
        people = {sid: PersonKind(kind) for sid, kind in session.execute(
            select(RosterPersonRow.sourced_id, RosterPersonRow.kind)
            .where(RosterPersonRow.district == district, RosterPersonRow.active)
        )}
    return Stored(orgs, people)


def apply(engine: Engine, district: str, changes: Changes, now: datetime) -> Counts:
    """Write ``changes`` in one transaction: a row only where a column differs, a person or
    school the export no longer holds marked gone (never deleted), each student's links as
    the export gives them."""
    counts = Counts()
    with Session(engine) as session, session.begin():
        if engine.dialect.name == "postgresql":  # one import of a district at a time
            session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
                            {"key": f"school-transfers roster {district}"})
        _write(session, RosterSchoolRow, SCHOOL_FIELDS, district, changes.schools,
               changes.gone_schools, changes.replace_schools, now, Counts())
        _write(session, RosterPersonRow, PERSON_FIELDS, district, changes.people,
               changes.gone_people, changes.replace_everything, now, counts)
        _write_links(session, district, changes, counts)
        _check_one_student_an_id(session, district)
    return counts


class SameStudentId(ValueError):
    """Two active students of the district would have one student id (the roster's
    ``identifier``): a delta file's student and one the store holds. Nothing is written."""

    def __init__(self, sourced_ids: list[str]) -> None:
        super().__init__(f"students {', '.join(repr(s) for s in sourced_ids)} would have one "
                         "student id")
        self.sourced_ids = sourced_ids


def _check_one_student_an_id(session: Session, district: str) -> None:
    duplicated = select(RosterPersonRow.identifier).where(
        RosterPersonRow.district == district, RosterPersonRow.active,
        RosterPersonRow.kind == PersonKind.student.value,
    ).group_by(RosterPersonRow.identifier).having(func.count() > 1).limit(1)
    identifier = session.scalar(duplicated)
    if identifier is not None:
        raise SameStudentId(sorted(session.scalars(select(RosterPersonRow.sourced_id).where(
            RosterPersonRow.district == district, RosterPersonRow.active,
            RosterPersonRow.identifier == identifier))))


def _write(
    session: Session, table: Any, fields: tuple[str, ...], district: str,
    rows: dict[str, dict[str, Any]], gone: set[str], replace: bool, now: datetime,
    counts: Counts,
) -> None:
    present = {row.sourced_id: row for row in session.scalars(
        select(table).where(table.district == district))}
    added = []
    for sourced_id, values in rows.items():
        row = present.get(sourced_id)
        if row is None:
            added.append({"district": district, "sourced_id": sourced_id, "updated_at": now,
                          **values})
        elif any(getattr(row, f) != values[f] for f in fields):
            for name in fields:
                setattr(row, name, values[name])
            row.updated_at = now
            counts.updated += 1
        else:
            counts.unchanged += 1
    if added:  # one statement for them all (executemany), not an ORM object each
        session.execute(insert(table), added)
        counts.added += len(added)
    leaving = set(gone)
    if replace:
        leaving |= set(present) - set(rows)
    for sourced_id in leaving:
        row = present.get(sourced_id)
        if row is not None and row.active:
            row.active = False
            row.updated_at = now
            counts.gone += 1
    session.flush()


def _write_links(session: Session, district: str, changes: Changes, counts: Counts) -> None:
    present: dict[str, set[str]] = {}
    for student, guardian in session.execute(
        select(RosterLinkRow.student, RosterLinkRow.guardian)
        .where(RosterLinkRow.district == district)
    ):
        present.setdefault(student, set()).add(guardian)
    # Who is gone has no links: every student a bulk file does not hold, and whoever a delta
    # file deletes (a student's links, or a guardian's).
    targets = dict(changes.links)
    leaving = set(present) - set(changes.links) if changes.replace_everything else set()
    for student in leaving | (changes.gone_people & set(present)):
        targets[student] = set()
    for student, guardians in present.items():
        if guardians & changes.gone_people and student not in targets:
            targets[student] = guardians - changes.gone_people
    added = []
    for student, guardians in targets.items():
        before = present.get(student, set())
        replace = student in changes.people or not guardians
        after = (guardians if replace else before | guardians) - changes.gone_people
        added += [{"district": district, "student": student, "guardian": guardian}
                  for guardian in sorted(after - before)]
        removed = before - after
        if removed:
            session.execute(delete(RosterLinkRow).where(
                RosterLinkRow.district == district, RosterLinkRow.student == student,
                RosterLinkRow.guardian.in_(removed)))
            counts.links_removed += len(removed)
    if added:
        session.execute(insert(RosterLinkRow), added)
        counts.links_added += len(added)


# ---- look-ups -----------------------------------------------------------------------------


def _student(row: RosterPersonRow) -> RosterStudent:
    return RosterStudent(
        district=row.district, sourced_id=row.sourced_id, identifier=row.identifier,
        given_name=row.given_name, family_name=row.family_name, grade=row.grade,
        school_year=row.school_year, school=row.school_id, home_school=row.home_school_id,
        attendance_area=row.attendance_area, active=row.active,
    )


def student(engine: Engine, district: str, identifier: str) -> RosterStudent | None:
    """The district's active student of this id (the roster's ``identifier``), or None."""
    with Session(engine) as session:
        row = session.scalars(select(RosterPersonRow).where(
            RosterPersonRow.district == district, RosterPersonRow.identifier == identifier,
            RosterPersonRow.kind == PersonKind.student.value, RosterPersonRow.active,
        )).first()
        return _student(row) if row is not None else None


_GUARDIANS = select(
    RosterPersonRow.district, RosterPersonRow.sourced_id, RosterPersonRow.role,
    RosterPersonRow.given_name, RosterPersonRow.family_name, RosterPersonRow.email,
).where(
    RosterPersonRow.email_key == bindparam("email_key"), RosterPersonRow.active,
    RosterPersonRow.kind == PersonKind.guardian.value,
).order_by(RosterPersonRow.district, RosterPersonRow.sourced_id)


def guardians_by_email(engine: Engine, email: str) -> list[RosterGuardian]:
    """Every active guardian of this address (case ignored), in every district, each with
    their active students."""
    key = email.strip().lower()
    with engine.connect() as connection:  # asked on every page a parent opens
        guardians = connection.execute(_GUARDIANS, {"email_key": key}).all()
    if not guardians:
        return []
    with Session(engine) as session:
        found = []
        for guardian in guardians:
            students = session.scalars(
                select(RosterPersonRow).join(RosterLinkRow, and_(
                    RosterLinkRow.district == RosterPersonRow.district,
                    RosterLinkRow.student == RosterPersonRow.sourced_id,
                )).where(
                    RosterLinkRow.district == guardian.district,
                    RosterLinkRow.guardian == guardian.sourced_id,
                    RosterPersonRow.active,
                ).order_by(RosterPersonRow.family_name, RosterPersonRow.given_name)
            ).all()
            found.append(RosterGuardian(
                district=guardian.district, sourced_id=guardian.sourced_id,
                role=guardian.role, given_name=guardian.given_name,
                family_name=guardian.family_name, email=guardian.email,
                students=[_student(s) for s in students],
            ))
    return found


_GUARDIAN, _CHILD = aliased(RosterPersonRow), aliased(RosterPersonRow)
_STUDENTS_OF = select(_CHILD.district, _CHILD.identifier).select_from(_GUARDIAN).join(
    RosterLinkRow, and_(RosterLinkRow.district == _GUARDIAN.district,
                        RosterLinkRow.guardian == _GUARDIAN.sourced_id),
).join(_CHILD, and_(_CHILD.district == RosterLinkRow.district,
                    _CHILD.sourced_id == RosterLinkRow.student)).where(
    _GUARDIAN.email_key == bindparam("email_key"), _GUARDIAN.active,
    _GUARDIAN.kind == PersonKind.guardian.value, _CHILD.active,
)


def linked_students(engine: Engine, email: str) -> frozenset[tuple[str, str]]:
    """(district, student id) of every active student an active guardian of this address
    (case ignored) is linked to: the same students as `guardians_by_email`, in one indexed
    query with no guardian built, for every page a signed-in parent opens."""
    with engine.connect() as connection:
        rows = connection.execute(_STUDENTS_OF, {"email_key": email.strip().lower()}).all()
    return frozenset((district, identifier) for district, identifier in rows)


def count(engine: Engine, district: str) -> dict[str, int]:
    """How many active students and guardians, and links, the district's roster holds."""
    with Session(engine) as session:
        by_kind = dict(session.execute(
            select(RosterPersonRow.kind, func.count())
            .where(RosterPersonRow.district == district, RosterPersonRow.active)
            .group_by(RosterPersonRow.kind)
        ).all())
        links = session.scalar(select(func.count()).select_from(RosterLinkRow)
                               .where(RosterLinkRow.district == district)) or 0
    return {"students": by_kind.get("student", 0), "guardians": by_kind.get("guardian", 0),
            "links": links}

