"""A OneRoster 1.2 CSV export read and checked, before anything is written
(docs/cross-cutting.md "Roster"). The files, as the 1EdTech OneRoster CSV Binding 1.2
("OR CSV 1.2") defines them:

- ``manifest.csv`` (propertyName, value): ``manifest.version`` 1.0, ``oneroster.version``
  1.2 (or 1.2.1), and ``file.<name>`` ``bulk`` | ``delta`` | ``absent`` for each data file.
  ``orgs``, ``users`` and ``roles`` must be given; ``enrollments`` and ``demographics`` are
  read where given.
- ``orgs.csv``: the district (type ``district``) and its schools (type ``school``).
- ``users.csv``: people; ``identifier`` (the district's human-readable id: a student's is the
  id its forms carry), ``givenName``, ``familyName``, ``email``, ``grades``, and
  ``agentSourcedIds``, the users that are the user's agents (a student's parents, guardians
  and relatives) or, on a guardian's row, the students they are the agent of.
- ``roles.csv``: since 1.2 a user's roles (``student``, ``parent``, ``guardian``,
  ``relative``, ...) and the org of each (``roleType`` primary: the school of enrolment)
  are here, no longer in users.csv.
- ``enrollments.csv``: a student's classes, each at a school (``schoolSourcedId``): the
  school of a student whose primary role is not at a school.
- ``demographics.csv``: one row per user (its ``sourcedId`` is the user's): only checked.

The CSV format (OR CSV 1.2, "CSV Format"): RFC 4180 (CRLF line ends, quotes), UTF-8, a byte
order mark tolerated at the start of a file, a header row of case-sensitive names, no
carriage return inside a field. A bulk file is the whole set (what it no longer holds is
gone); a delta file holds changes, each row ``status`` ``active`` or ``tobedeleted``.

Anything wrong is refused (`RosterRefused`, a `PolicyError`) naming the file, the line and the
field; the message carries no name, address or student id, only sourcedIds and what is wrong.
"""

from __future__ import annotations

import csv
import io
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from email_validator import EmailNotValidError, validate_email

from models.roster import PersonKind
from models.text import problem_in
from rules.errors import PolicyError

MAX_FILE_BYTES = 64 * 1024 * 1024  # a district of 100,000 students writes about 40 MiB
MAX_CELL = 255  # a sourcedId, an identifier, a name, an address
BOM = b"\xef\xbb\xbf"
# A cell a spreadsheet would run as a formula (OWASP "CSV Injection"): refused in what is kept.
FORMULA_STARTS = ("=", "+", "-", "@")
STUDENT_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")  # models.people.StudentBase.id
GUARDIAN_ROLES = frozenset({"parent", "guardian", "relative"})
MODES = frozenset({"bulk", "delta", "absent"})
REQUIRED_FILES = ("orgs", "users", "roles")
OPTIONAL_FILES = ("enrollments", "demographics")
VERSIONS = frozenset({"1.2", "1.2.1"})
# CEDS grade levels as OR CSV 1.2 writes them ("grades"): kindergarten to twelfth grade.
GRADES = {"KG": 0, **{f"{n:02d}": n for n in range(1, 13)}, **{str(n): n for n in range(1, 13)}}
NOT_K12 = frozenset({"IT", "PR", "PK", "TK", "13", "PS", "UG", "Other"})
HOME_SCHOOL = "metadata.homeSchoolSourcedId"  # the project's extension column (users.csv)

# The columns read from each file; a file without one is refused. Other columns (optional
# ones of the binding, and metadata.* extensions) may be there and are not read.
COLUMNS: dict[str, tuple[str, ...]] = {
    "manifest": ("propertyName", "value"),
    "orgs": ("sourcedId", "status", "dateLastModified", "name", "type", "identifier",
             "parentSourcedId"),
    "users": ("sourcedId", "status", "dateLastModified", "enabledUser", "username",
              "givenName", "familyName", "identifier", "email", "agentSourcedIds", "grades"),
    "roles": ("sourcedId", "status", "dateLastModified", "userSourcedId", "roleType", "role",
              "orgSourcedId"),
    "enrollments": ("sourcedId", "status", "dateLastModified", "classSourcedId",
                    "schoolSourcedId", "userSourcedId", "role"),
    "demographics": ("sourcedId", "status", "dateLastModified"),
}


class RosterRefused(PolicyError):
    """A roster export refused: the message names the file, the line and the field."""


@dataclass(frozen=True)
class Row:
    file: str
    line: int
    values: dict[str, str]

    def at(self, column: str) -> str:
        return f"{self.file} line {self.line}, {column}"

    def refuse(self, column: str, problem: str) -> RosterRefused:
        return RosterRefused(f"{self.at(column)}: {problem}")

    def text(self, column: str, required: bool = False, limit: int = MAX_CELL) -> str:
        """The cell, checked as one line of text to keep: no control or invisible character,
        no formula, not too long; empty only when not ``required``."""
        value = self.values.get(column, "")
        if not value:
            if required:
                raise self.refuse(column, "is empty, and is required")
            return ""
        if not value.strip():
            raise self.refuse(column, "is blank")
        if value.startswith(FORMULA_STARTS):
            raise self.refuse(column, f"begins with {value[0]!r}, as a spreadsheet formula "
                                      "does: refused")
        if len(value) > limit:
            raise self.refuse(column, f"is {len(value)} characters long (at most {limit})")
        return value

    def items(self, column: str) -> list[str]:
        """A list field (OR CSV 1.2: values separated by commas, the field quoted)."""
        value = self.text(column, limit=64 * 1024)
        return [v.strip() for v in value.split(",") if v.strip()] if value else []


@dataclass(frozen=True)
class School:
    sourced_id: str
    school_id: str  # the district file's school whose id is the org's identifier
    name: str
    line: int


@dataclass
class Person:
    sourced_id: str
    kind: PersonKind
    role: str
    identifier: str
    given_name: str
    family_name: str
    email: str | None
    grade: int | None
    school: str | None  # an org sourcedId
    home_school: str | None  # an org sourcedId (HOME_SCHOOL)
    agents: list[str]
    line: int


@dataclass
class RosterExport:
    """A checked export: what it holds, and what it says is gone."""

    district_identifier: str | None
    modes: dict[str, str]
    schools: dict[str, School]
    gone_orgs: set[str] = field(default_factory=set)
    people: dict[str, Person] = field(default_factory=dict)
    gone_people: set[str] = field(default_factory=set)
    # A student's guardians, for every student whose links this export gives.
    guardians_of: dict[str, set[str]] = field(default_factory=dict)
    other_users: int = 0  # teachers, administrators...: not kept

    @property
    def bulk_users(self) -> bool:
        return self.modes["users"] == "bulk"


# ---- files --------------------------------------------------------------------------------


def _open_checked(path: Path) -> bytes:
    """A regular file (a link is refused, not followed) of at most MAX_FILE_BYTES, checked
    before it is read."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        raise RosterRefused(f"{path.name}: not in the folder") from None
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISREG(info.st_mode):
        raise RosterRefused(f"{path.name}: not a regular file")
    if info.st_size > MAX_FILE_BYTES:
        raise RosterRefused(f"{path.name}: {info.st_size} bytes, more than the "
                            f"{MAX_FILE_BYTES} a roster file may have")
    with open(path, "rb") as file:
        data = file.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:  # grew while it was read
        raise RosterRefused(f"{path.name}: more than {MAX_FILE_BYTES} bytes")
    return data


def read_table(folder: Path, name: str) -> Iterator[Row]:
    """The rows of ``<name>.csv``, each a dict by the header's names, every cell checked for
    control and invisible characters (models/text.py)."""
    file = f"{name}.csv"
    data = _open_checked(folder / file)
    if data.startswith(BOM):  # OR CSV 1.2: importers must tolerate a BOM prefix
        data = data[len(BOM):]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise RosterRefused(f"{file} line {line}: not UTF-8 (byte {error.start})") from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if not header:
            raise RosterRefused(f"{file} line 1: no header row")
        seen: set[str] = set()
        for column in header:
            if column in seen:
                raise RosterRefused(f"{file} line 1: column {column!r} twice")
            seen.add(column)
        for column in COLUMNS[name]:
            if column not in seen:
                raise RosterRefused(f"{file} line 1: no column {column!r}")
        rows = 0
        ended = reader.line_num
        for cells in reader:
            line, ended = ended + 1, reader.line_num  # the line the record starts on
            if not cells:
                continue
            if len(cells) != len(header):
                raise RosterRefused(f"{file} line {line}: {len(cells)} fields, the header has "
                                    f"{len(header)}")
            for column, value in zip(header, cells, strict=True):
                if value.isascii() and value.isprintable():  # most cells: nothing to find
                    continue
                problem = problem_in(value)
                if problem:
                    raise RosterRefused(f"{file} line {line}, {column}: {problem}")
            rows += 1
            yield Row(file, line, dict(zip(header, cells, strict=True)))
    except csv.Error as error:
        raise RosterRefused(f"{file} line {reader.line_num}: not CSV ({error})") from None
    if name != "manifest" and rows == 0:
        raise RosterRefused(f"{file}: no rows (OR CSV 1.2: a file given holds rows)")


def read_manifest(folder: Path) -> dict[str, str]:
    """Each data file's mode (``bulk``, ``delta``, ``absent``)."""
    properties: dict[str, tuple[str, Row]] = {}
    for row in read_table(folder, "manifest"):
        name = row.text("propertyName", required=True)
        if name in properties:
            raise row.refuse("propertyName", f"{name} given twice (line "
                                             f"{properties[name][1].line} too)")
        properties[name] = (row.values.get("value", ""), row)

    def value(name: str) -> tuple[str, Row | None]:
        found = properties.get(name)
        return (found[0], found[1]) if found else ("", None)

    manifest_version, _ = value("manifest.version")
    if manifest_version != "1.0":
        raise RosterRefused(f"manifest.csv: manifest.version is {manifest_version or 'missing'!r},"
                            " not 1.0")
    version, row = value("oneroster.version")
    if version not in VERSIONS:
        raise RosterRefused(f"manifest.csv: oneroster.version is {version or 'missing'!r}; "
                            "this import reads OneRoster 1.2")
    modes = {}
    for name in (*REQUIRED_FILES, *OPTIONAL_FILES):
        mode, row = value(f"file.{name}")
        mode = mode or "absent"
        if mode not in MODES:
            where = f"manifest.csv line {row.line}" if row else "manifest.csv"
            raise RosterRefused(f"{where}, value: file.{name} is {mode!r}, not bulk, delta "
                                "or absent")
        if name in REQUIRED_FILES and mode == "absent":
            raise RosterRefused(f"manifest.csv: file.{name} is absent; the roster needs "
                                f"{name}.csv")
        modes[name] = mode
    return modes


# ---- reading the export -------------------------------------------------------------------


def _status(row: Row, mode: str) -> str:
    """``active`` or ``tobedeleted``: blank in a bulk file, required in a delta file."""
    status = row.values.get("status", "")
    if mode == "bulk":
        if status not in ("", "active"):
            raise row.refuse("status", f"{status!r} in a bulk file (blank or active: a bulk "
                                       "file holds only what is)")
        return "active"
    if status not in ("active", "tobedeleted"):
        raise row.refuse("status", f"{status or 'empty'!r}: a delta file's rows are active "
                                   "or tobedeleted")
    return status


def _unique(rows: Iterator[Row]) -> Iterator[Row]:
    seen: dict[str, int] = {}
    for row in rows:
        sourced_id = row.text("sourcedId", required=True)
        if sourced_id in seen:
            raise row.refuse("sourcedId", f"{sourced_id!r} is also on line {seen[sourced_id]}")
        seen[sourced_id] = row.line
        yield row


def read_export(
    folder: Path,
    schools_by_id: set[str],
    known_orgs: dict[str, str] | None = None,
    known_people: dict[str, PersonKind] | None = None,
    district: str | None = None,
) -> RosterExport:
    """The export in ``folder``, checked whole. ``schools_by_id``: the district file's school
    ids (an org of type school is matched by its ``identifier``); ``district``: the district
    it must be for (its district org's identifier, when it has one); ``known_orgs`` and
    ``known_people``: what the store already holds (sourcedId to school id, or to kind), which
    a delta file may refer to."""
    if not folder.is_dir():
        raise RosterRefused(f"{folder}: not a folder")
    known_orgs = known_orgs or {}
    known_people = known_people or {}
    modes = read_manifest(folder)
    export = RosterExport(None, modes, {})
    org_rows = list(_unique(read_table(folder, "orgs")))
    district_orgs = {row.values["sourcedId"]: row for row in org_rows
                     if row.values.get("type") == "district"
                     and _status(row, modes["orgs"]) == "active"}
    if len(district_orgs) > 1:
        lines = ", ".join(str(r.line) for r in district_orgs.values())
        raise RosterRefused(f"orgs.csv lines {lines}, type: more than one district")
    for row in district_orgs.values():  # first: another district's export is named as such
        export.district_identifier = row.text("identifier") or None
        if district not in (None, export.district_identifier):
            raise row.refuse("identifier", f"the export is for district "
                                           f"{export.district_identifier!r}, not {district!r}")
    other_orgs: set[str] = set()
    for row in org_rows:
        sourced_id = row.values["sourcedId"]
        if _status(row, modes["orgs"]) == "tobedeleted":
            export.gone_orgs.add(sourced_id)
            continue
        kind = row.text("type", required=True)
        if kind == "school":
            identifier = row.text("identifier", required=True)
            if identifier not in schools_by_id:
                known = ", ".join(sorted(schools_by_id))
                raise row.refuse("identifier", f"{identifier!r} is no school of the district "
                                               f"file (its schools: {known})")
            export.schools[sourced_id] = School(sourced_id, identifier,
                                                row.text("name", required=True), row.line)
        elif kind != "district":
            other_orgs.add(sourced_id)
    orgs = set(export.schools) | set(district_orgs) | other_orgs
    if modes["orgs"] == "delta":
        orgs |= set(known_orgs) - export.gone_orgs
    school_of = {sid: s.school_id for sid, s in export.schools.items()}
    if modes["orgs"] == "delta":
        school_of = {**{k: v for k, v in known_orgs.items() if k not in export.gone_orgs},
                     **school_of}

    users = {row.values["sourcedId"]: row for row in _unique(read_table(folder, "users"))}
    gone_users = {sid for sid, row in users.items()
                  if _status(row, modes["users"]) == "tobedeleted"}
    all_users = set(users) | (set(known_people) if modes["users"] == "delta" else set())

    # roles.csv: each user's kind and primary org (OR CSV 1.2 "roles.csv").
    roles_of: dict[str, list[Row]] = {}
    for row in _unique(read_table(folder, "roles")):
        if _status(row, modes["roles"]) == "tobedeleted":
            continue
        user = row.text("userSourcedId", required=True)
        kept = row.values.get("role") in ("student", *GUARDIAN_ROLES)
        if user not in all_users and (kept or modes["roles"] == "bulk"):
            raise row.refuse("userSourcedId", f"{user!r} is no user of users.csv")
        if user not in all_users:  # a delta's teacher, say, whom the store does not keep
            continue
        org = row.text("orgSourcedId", required=True)
        if org not in orgs:
            raise row.refuse("orgSourcedId", f"{org!r} is no org of orgs.csv")
        if row.text("roleType", required=True) not in ("primary", "secondary"):
            raise row.refuse("roleType", "is neither primary nor secondary")
        row.text("role", required=True)
        roles_of.setdefault(user, []).append(row)

    enrolled_at: dict[str, str] = {}
    if modes["enrollments"] != "absent":
        for row in _unique(read_table(folder, "enrollments")):
            if _status(row, modes["enrollments"]) == "tobedeleted":
                continue
            user = row.text("userSourcedId", required=True)
            if user not in all_users:
                raise row.refuse("userSourcedId", f"{user!r} is no user of users.csv")
            school = row.text("schoolSourcedId", required=True)
            if school not in school_of:
                raise row.refuse("schoolSourcedId", f"{school!r} is no school of orgs.csv")
            row.text("classSourcedId", required=True)
            student = row.text("role", required=True) == "student"
            if student and (user not in enrolled_at or row.values.get("primary") == "true"):
                enrolled_at[user] = school
    if modes["demographics"] != "absent":
        for row in _unique(read_table(folder, "demographics")):
            if row.values["sourcedId"] not in all_users:
                raise row.refuse("sourcedId", f"{row.values['sourcedId']!r} is no user of "
                                              "users.csv (a demographics row is a user's)")

    identifiers: dict[str, int] = {}
    delta_known = known_people if modes["users"] == "delta" else {}
    for sourced_id, row in users.items():
        if sourced_id in gone_users:
            export.gone_people.add(sourced_id)
            continue
        kind, role, primary_org = _kind(row, roles_of.get(sourced_id, []), delta_known)
        if kind is None:
            export.other_users += 1
            continue
        person = _person(row, kind, role, primary_org, school_of, enrolled_at)
        if kind is PersonKind.student:
            if person.identifier in identifiers:
                raise row.refuse("identifier", "the same student id as line "
                                               f"{identifiers[person.identifier]}")
            identifiers[person.identifier] = row.line
        export.people[sourced_id] = person
    _link(export, users, all_users, known_people)
    return export


def _kind(
    row: Row, roles: list[Row], known: dict[str, PersonKind]
) -> tuple[PersonKind | None, str, str | None]:
    """Whether the user is a student, a guardian or neither, their role, and the org of
    their primary role (a student's school)."""
    names = {r.values["role"] for r in roles}
    primary = next((r.values["orgSourcedId"] for r in roles
                    if r.values["roleType"] == "primary"), None)
    # ``known``: in a delta file, the users the store holds, whose roles it does not repeat
    if "student" in names:
        student_orgs = [r for r in roles if r.values["role"] == "student"]
        first = next((r for r in student_orgs if r.values["roleType"] == "primary"),
                     student_orgs[0])
        return PersonKind.student, "student", first.values["orgSourcedId"]
    guardian = sorted(names & GUARDIAN_ROLES)
    if guardian:
        return PersonKind.guardian, guardian[0], primary
    if not roles and row.values["sourcedId"] in known:
        raise row.refuse("sourcedId", "a changed user with no role in roles.csv: a delta file "
                                      "gives a user's roles with it")
    return None, "", None


def _person(
    row: Row,
    kind: PersonKind,
    role: str,
    primary_org: str | None,
    school_of: dict[str, str],
    enrolled_at: dict[str, str],
) -> Person:
    given = row.text("givenName", required=True, limit=100)
    family = row.text("familyName", required=True, limit=100)
    email = _email(row) if row.values.get("email") else None
    grade: int | None = None
    identifier = ""
    school = home = None
    if kind is PersonKind.student:
        identifier = row.text("identifier", required=True, limit=64)
        if not STUDENT_ID.match(identifier):
            raise row.refuse("identifier", "a student id is letters, digits, '_', '.' and "
                                           "'-' (as the district's forms write it)")
        grade = _grade(row)
        if primary_org in school_of:
            school = primary_org
        elif row.values["sourcedId"] in enrolled_at:
            school = enrolled_at[row.values["sourcedId"]]
        home = row.values.get(HOME_SCHOOL) or None
        if home is not None and home not in school_of:
            raise row.refuse(HOME_SCHOOL, f"{home!r} is no school of orgs.csv")
    return Person(
        sourced_id=row.values["sourcedId"], kind=kind, role=role, identifier=identifier,
        given_name=given, family_name=family, email=email, grade=grade, school=school,
        home_school=home, agents=row.items("agentSourcedIds"), line=row.line,
    )


def _email(row: Row) -> str:
    value = row.text("email")
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError:
        raise row.refuse("email", "is not an e-mail address") from None


def _grade(row: Row) -> int | None:
    grades = row.items("grades")
    if len(grades) > 1:
        raise row.refuse("grades", f"{len(grades)} grades for one student")
    if not grades or grades[0] in NOT_K12:
        return None
    if grades[0] not in GRADES:
        raise row.refuse("grades", f"{grades[0]!r} is not a grade (KG, 01 to 12, or "
                                   "another CEDS grade level)")
    return GRADES[grades[0]]


def _link(
    export: RosterExport, users: dict[str, Row], all_users: set[str],
    known: dict[str, PersonKind],
) -> None:
    """Each student's guardians, from agentSourcedIds on either side. A link to a user that
    does not exist is refused; a link between two users of which one is neither a student
    nor a guardian (a teacher) is not kept."""

    def kind_of(sourced_id: str) -> PersonKind | None:
        person = export.people.get(sourced_id)
        if person is not None:
            return person.kind
        if sourced_id in users:
            return None
        return known.get(sourced_id)

    for person in export.people.values():
        if person.kind is PersonKind.student:
            export.guardians_of.setdefault(person.sourced_id, set())
        for agent in person.agents:
            if agent not in all_users or agent in export.gone_people:
                row = users[person.sourced_id]
                raise row.refuse("agentSourcedIds", f"{agent!r} is no user of users.csv")
            other = kind_of(agent)
            if person.kind is PersonKind.student and other is PersonKind.guardian:
                export.guardians_of[person.sourced_id].add(agent)
            elif person.kind is PersonKind.guardian and other is PersonKind.student:
                export.guardians_of.setdefault(agent, set()).add(person.sourced_id)


def district_of(folder: Path) -> str | None:
    """The ``identifier`` of the export's one org of type district, if it has one: the
    district file it is for, when the import is not told."""
    found = [row for row in read_table(folder, "orgs") if row.values.get("type") == "district"]
    if len(found) != 1:
        return None
    return found[0].text("identifier") or None
