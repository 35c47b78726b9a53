"""A realistic OneRoster 1.2 CSV export of a district, written for the tests
(docs/cross-cutting.md "Roster"): hundreds of students in families of one to four children
who share their one or two guardians (parents, guardians, relatives), teachers who are
neither, enrollments in classes, demographics, addresses in mixed case, the project's
``metadata.homeSchoolSourcedId`` column for the home school, and names with accents,
apostrophes and commas (quoted). Deterministic for a seed, so a test can name a family.

`write_export` writes it; `edit` changes one file of it (a malformed row for a test)."""

from __future__ import annotations

import csv
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, select

from intake.oneroster import read_export
from intake.roster_changes import changes_for
from models.district import DistrictConfig
from models.within_district_config import WithinDistrictConfig, WithinSchool
from store import roster
from store.roster import Counts
from store.schema import RosterLinkRow, RosterPersonRow, RosterSchoolRow

AnyDistrict = DistrictConfig | WithinDistrictConfig

USERS_HEADER = [
    "sourcedId", "status", "dateLastModified", "enabledUser", "username", "userIds",
    "givenName", "familyName", "middleName", "identifier", "email", "sms", "phone",
    "agentSourcedIds", "grades", "password", "userMasterIdentifier", "resourceSourcedIds",
    "preferredGivenName", "preferredMiddleName", "preferredFamilyName",
    "primaryOrgSourcedId", "pronouns", "metadata.homeSchoolSourcedId",
]
ORGS_HEADER = ["sourcedId", "status", "dateLastModified", "name", "type", "identifier",
               "parentSourcedId"]
ROLES_HEADER = ["sourcedId", "status", "dateLastModified", "userSourcedId", "roleType",
                "role", "beginDate", "endDate", "orgSourcedId", "userProfileSourcedId"]
ENROLLMENTS_HEADER = ["sourcedId", "status", "dateLastModified", "classSourcedId",
                      "schoolSourcedId", "userSourcedId", "role", "primary", "beginDate",
                      "endDate"]
DEMOGRAPHICS_HEADER = ["sourcedId", "status", "dateLastModified", "birthDate", "sex",
                       "americanIndianOrAlaskaNative", "asian", "blackOrAfricanAmerican",
                       "nativeHawaiianOrOtherPacificIslander", "white",
                       "demographicRaceTwoOrMoreRaces", "hispanicOrLatinoEthnicity",
                       "countryOfBirthCode", "stateOfBirthAbbreviation", "cityOfBirth",
                       "publicSchoolResidenceStatus"]

GIVEN = ["Ana", "José", "Mía", "Noah", "Liam", "Sofía", "Mateo", "Emma", "Zoë", "Aarav",
         "Nguyễn", "Olivia", "Lucas", "Chloé", "Diego", "Amara", "Kai", "Léa", "Omar", "Ines"]
FAMILY = ["García", "Smith", "O'Brien", "Nguyen", "Hernández", "Berg", "Kowalski", "Lee",
          "Martínez", "Johnson", "Müller", "Patel", "Rossi", "Okafor", "Kim", "Dubois",
          "De la Cruz", "Haddad", "Silva", "Novak"]
GRADE_CODES = ["KG", *(f"{n:02d}" for n in range(1, 13))]


@dataclass
class Family:
    guardians: list[str]  # sourcedIds
    emails: list[str]  # as written (mixed case)
    students: list[str]  # sourcedIds
    student_ids: list[str]  # identifiers, the district's student ids


@dataclass
class Export:
    folder: Path
    families: list[Family] = field(default_factory=list)
    students: dict[str, dict[str, str]] = field(default_factory=dict)  # by identifier
    school_orgs: dict[str, str] = field(default_factory=dict)  # school id -> org sourcedId

    @property
    def student_count(self) -> int:
        return sum(len(f.students) for f in self.families)

    @property
    def guardian_count(self) -> int:
        return sum(len(f.guardians) for f in self.families)


def _write(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file, lineterminator="\r\n")  # RFC 4180's line ends
        writer.writerow(header)
        writer.writerows(rows)


def _school_for(config: AnyDistrict, grade: int, rng: random.Random) -> str:
    fits = [s.id for s in config.schools if s.lowest_grade <= grade <= s.highest_grade]
    return rng.choice(fits)


def write_export(
    folder: Path, config: AnyDistrict, families: int = 250, seed: int = 18,
    demographics: bool = True, enrollments: bool = True,
) -> Export:
    """A bulk export of ``config``'s district: about 2.2 students a family."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    export = Export(folder)
    district_org = f"org-{config.id}"
    orgs = [[district_org, "", "", config.name, "district", config.id, ""]]
    for n, school in enumerate(config.schools):
        sourced_id = f"org-s{n:03d}"
        export.school_orgs[school.id] = sourced_id
        orgs.append([sourced_id, "", "", school.name, "school", school.id, district_org])
    users: list[list[str]] = []
    roles: list[list[str]] = []
    enrolls: list[list[str]] = []
    demos: list[list[str]] = []
    blank = [""] * len(USERS_HEADER)

    def user(**values: str) -> list[str]:
        row = list(blank)
        for name, value in values.items():
            row[USERS_HEADER.index(name)] = value
        return row

    student_number = 100000
    for f in range(families):
        family_name = rng.choice(FAMILY)
        guardians = [f"g-{f:04d}-{k}" for k in range(rng.choice([1, 2, 2, 2]))]
        children = rng.choice([1, 1, 2, 2, 2, 3, 3, 4])
        fam = Family(guardians=guardians, emails=[], students=[], student_ids=[])
        home_area_school = None
        for c in range(children):
            student_number += rng.randint(1, 9)
            sourced_id = f"s-{f:04d}-{c}"
            identifier = f"S{student_number}"
            grade = rng.randint(0, 12)
            school = _school_for(config, grade, rng)
            home = school if rng.random() < 0.8 else _school_for(config, grade, rng)
            home_area_school = home_area_school or home
            given = rng.choice(GIVEN)
            users.append(user(
                sourcedId=sourced_id, enabledUser="true", username=f"u{student_number}",
                givenName=given, familyName=family_name, identifier=identifier,
                agentSourcedIds=",".join(guardians), grades=GRADE_CODES[grade],
                primaryOrgSourcedId=export.school_orgs[school],
                **{"metadata.homeSchoolSourcedId": export.school_orgs[home]},
            ))
            roles.append([f"r-{sourced_id}", "", "", sourced_id, "primary", "student", "", "",
                          export.school_orgs[school], ""])
            if enrollments:
                for k in range(2):
                    enrolls.append([f"e-{sourced_id}-{k}", "", "", f"c-{school}-{grade}-{k}",
                                    export.school_orgs[school], sourced_id, "student",
                                    "true" if k == 0 else "false", "", ""])
            if demographics:
                demos.append([sourced_id, "", "", f"{2026 - 6 - grade}-0{rng.randint(1, 9)}-1"
                              f"{rng.randint(0, 9)}", rng.choice(["male", "female"]),
                              *["false"] * 7, "US", "CA", "", ""])
            fam.students.append(sourced_id)
            fam.student_ids.append(identifier)
            export.students[identifier] = {"sourced_id": sourced_id, "grade": str(grade),
                                           "school": school, "home": home}
        for k, guardian in enumerate(guardians):
            given = rng.choice(GIVEN)
            email = f"{given}.{family_name}{f}{k}@Example.ORG".replace(" ", "").replace("'", "")
            fam.emails.append(email)
            role = rng.choice(["parent", "parent", "parent", "guardian", "relative"])
            users.append(user(
                sourcedId=guardian, enabledUser="true", username=f"p{f}-{k}",
                givenName=given, familyName=family_name, email=email,
                agentSourcedIds=",".join(fam.students),
            ))
            roles.append([f"r-{guardian}", "", "", guardian, "primary", role, "", "",
                          district_org, ""])
        export.families.append(fam)
    for t in range(max(5, families // 10)):  # teachers: neither students nor guardians
        school = rng.choice(config.schools).id
        users.append(user(sourcedId=f"t-{t:03d}", enabledUser="true", username=f"t{t}",
                          givenName=rng.choice(GIVEN), familyName=rng.choice(FAMILY),
                          email=f"teacher{t}@{config.id}.example.org"))
        roles.append([f"r-t-{t:03d}", "", "", f"t-{t:03d}", "primary", "teacher", "", "",
                      export.school_orgs[school], ""])
    manifest = [["manifest.version", "1.0"], ["oneroster.version", "1.2"],
                ["file.academicSessions", "absent"], ["file.categories", "absent"],
                ["file.classes", "absent"], ["file.courses", "absent"],
                ["file.demographics", "bulk" if demographics else "absent"],
                ["file.enrollments", "bulk" if enrollments else "absent"],
                ["file.orgs", "bulk"], ["file.roles", "bulk"], ["file.users", "bulk"],
                ["source.systemName", "Test SIS"]]
    _write(folder / "manifest.csv", ["propertyName", "value"], manifest)
    _write(folder / "orgs.csv", ORGS_HEADER, orgs)
    _write(folder / "users.csv", USERS_HEADER, users)
    _write(folder / "roles.csv", ROLES_HEADER, roles)
    if enrollments:
        _write(folder / "enrollments.csv", ENROLLMENTS_HEADER, enrolls)
    if demographics:
        _write(folder / "demographics.csv", DEMOGRAPHICS_HEADER, demos)
    return export


def rows_of(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8", newline="") as file:
        return list(csv.reader(file))


def edit(path: Path, change: Callable[[list[list[str]]], None]) -> None:
    """Rewrite one file of an export with ``change`` applied to its rows (header first)."""
    rows = rows_of(path)
    change(rows)
    _write(path, rows[0], rows[1:])


def set_cell(path: Path, line: int, column: str, value: str) -> None:
    """Set one cell: ``line`` as the refusal names it (the header is line 1)."""

    def change(rows: list[list[str]]) -> None:
        rows[line - 1][rows[0].index(column)] = value

    edit(path, change)


def line_of(path: Path, column: str, value: str) -> int:
    """The line (header = 1) of the first row whose ``column`` is ``value``."""
    rows = rows_of(path)
    index = rows[0].index(column)
    return next(n + 1 for n, row in enumerate(rows) if n and row[index] == value)


def import_into(engine: Engine, folder: Path, config: AnyDistrict, school_year: str) -> Counts:
    """The import's own steps on ``engine``, without the application layer's sign-in: read
    and check the export, make its rows, write them in one transaction."""
    held = roster.stored(engine, config.id)
    export = read_export(folder, {s.id for s in config.schools}, held.orgs, held.people)
    areas = {s.id: s.attendance_area for s in config.schools
             if isinstance(s, WithinSchool)}
    changes = changes_for(export, school_year, areas, held.orgs)
    return roster.apply(engine, config.id, changes, datetime.now(UTC))


def table_rows(engine: Engine) -> dict[str, list[tuple]]:
    """Every row of the roster's tables, every column: to show an import changed nothing."""
    found = {}
    with engine.connect() as connection:
        for table in (RosterSchoolRow, RosterPersonRow, RosterLinkRow):
            rows = connection.execute(select(table.__table__)).all()
            found[table.__tablename__] = sorted(tuple(r) for r in rows)
    return found


def place(export: Export, identifier: str, grade: str, school: str, home: str) -> None:
    """Write one student of the export at ``school`` in ``grade``, living in ``home``'s
    attendance area."""
    sourced_id = export.students[identifier]["sourced_id"]
    users = export.folder / "users.csv"
    line = line_of(users, "identifier", identifier)
    set_cell(users, line, "grades", grade)
    set_cell(users, line, "metadata.homeSchoolSourcedId", export.school_orgs[home])
    roles = export.folder / "roles.csv"
    set_cell(roles, line_of(roles, "userSourcedId", sourced_id), "orgSourcedId",
             export.school_orgs[school])

    def enrolments(rows: list[list[str]]) -> None:
        for row in rows[1:]:
            if row[5] == sourced_id:
                row[4] = export.school_orgs[school]

    edit(export.folder / "enrollments.csv", enrolments)
