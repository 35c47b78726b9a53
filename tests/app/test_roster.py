"""The roster import and its look-ups (app/roster.py, intake/oneroster.py, store/roster.py;
docs/cross-cutting.md "Roster"), on a realistic export written by tests/support/roster.py
(hundreds of students, siblings sharing their guardians, teachers, enrollments,
demographics), into the records store the application layer opens: SQLite always, and
PostgreSQL with TRANSFERS_TEST_DATABASE_URL. Every refusal names the file, the line and the
field, and leaves every row of the roster's tables as it was."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, update

from app import roster, submissions
from app.errors import REFUSALS
from app.principal import Principal
from districts import load_district, load_within_district
from intake import oneroster
from models.within_district import Program, Residency, SeatKey
from store import roster as roster_store
from store.engine import engine_for
from store.schema import RosterPersonRow
from tests.support import within as w
from tests.support.databases import backends, postgres_url, throwaway_schema, with_search_path
from tests.support.roster import (
    Export,
    edit,
    import_into,
    line_of,
    place,
    rows_of,
    set_cell,
    table_rows,
    write_export,
)

MILLARD = load_within_district("millard")
PARAMOUNT = load_district("paramount")
OLSEN = Principal("olsen")  # Millard, student services
RIVERA = Principal("rivera")  # Millard, director of special education
AVALOS = Principal("avalos")  # Paramount, pupil services
YEAR = "2026-2027"
CODY_CORE_3 = SeatKey(school="cody-elementary", program=Program.core, grade=3)


@pytest.fixture(params=backends())
def store(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Engine]:
    """The records store the application layer opens from this environment."""
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("TRANSFERS_DATA_DIR", str(data))
    monkeypatch.delenv("TRANSFERS_DISTRICTS_DIR", raising=False)
    if request.param == "sqlite":
        monkeypatch.delenv("TRANSFERS_DATABASE_URL", raising=False)
        engine = engine_for(f"sqlite:///{data / 'records.sqlite3'}")
        yield engine
        engine.dispose()
        return
    with throwaway_schema("roster") as schema:
        url = with_search_path(str(postgres_url()), schema)
        monkeypatch.setenv("TRANSFERS_DATABASE_URL", url)
        engine = engine_for(url)
        yield engine
        engine.dispose()
        engine_for.cache_clear()


@pytest.fixture
def export(tmp_path: Path) -> Export:
    return write_export(tmp_path / "export", MILLARD)


def imported(folder: Path, who: Principal = OLSEN) -> roster.ImportReport:
    return roster.import_roster(who, folder, "millard", YEAR)


# ---- a realistic export --------------------------------------------------------------------


def test_a_realistic_export_is_imported_whole(store: Engine, export: Export) -> None:
    assert 500 <= export.student_count <= 700  # hundreds of students
    report = imported(export.folder)
    print(f"\nimport of {export.student_count} students, {export.guardian_count} guardians: "
          f"{report.seconds:.3f} s")
    data = report.as_dict()
    assert (data["students"], data["guardians"]) == (export.student_count,
                                                     export.guardian_count)
    assert data["added"] == export.student_count + export.guardian_count
    assert data["links"] == sum(len(f.guardians) * len(f.students) for f in export.families)
    assert data["other_users"] > 0  # the teachers: neither students nor guardians, not kept
    # Siblings share their guardians: each guardian sees every child of the family.
    family = next(f for f in export.families if len(f.students) >= 3 and len(f.guardians) == 2)
    for email in family.emails:
        (guardian,) = roster.students_of_guardian(email)
        assert sorted(s.identifier for s in guardian.students) == sorted(family.student_ids)


def test_a_students_facts_are_the_rosters_and_the_district_file_s(
    store: Engine, export: Export
) -> None:
    imported(export.folder)
    identifier, facts = next(iter(export.students.items()))
    found = roster.student_facts("millard", identifier)
    assert found is not None
    assert (found.grade, found.school, found.home_school, found.school_year) == (
        int(facts["grade"]), facts["school"], facts["home"], YEAR)
    assert found.attendance_area == MILLARD.school(facts["home"]).attendance_area
    assert roster.student_facts("millard", "S0") is None  # unknown
    assert roster.student_facts("paramount", identifier) is None  # another district's


def test_a_guardian_is_found_by_address_whatever_its_case(store: Engine, export: Export) -> None:
    imported(export.folder)
    email = export.families[0].emails[0]
    assert "Example.ORG" in email
    for spelled in (email, email.lower(), email.upper()):
        (guardian,) = roster.students_of_guardian(spelled)
        assert guardian.district == "millard"
    assert roster.students_of_guardian("nobody@example.org") == []


def test_a_byte_order_mark_and_crlf_line_ends_are_read_as_the_spec_says(
    store: Engine, export: Export
) -> None:
    """OR CSV 1.2: RFC 4180 (CRLF) and a BOM at the start tolerated."""
    users = export.folder / "users.csv"
    assert b"\r\n" in users.read_bytes()
    users.write_bytes(b"\xef\xbb\xbf" + users.read_bytes())
    assert imported(export.folder).as_dict()["students"] == export.student_count


# ---- idempotence and later exports ----------------------------------------------------------


def test_the_same_export_twice_changes_nothing(store: Engine, export: Export) -> None:
    imported(export.folder)
    before = table_rows(store)
    again = imported(export.folder)
    assert not again.counts.changed
    assert again.counts.unchanged == export.student_count + export.guardian_count
    assert table_rows(store) == before  # not a column, not a time of change


def test_a_later_bulk_export_updates_and_marks_gone_what_it_no_longer_holds(
    store: Engine, export: Export
) -> None:
    imported(export.folder)
    family = next(f for f in export.families if len(f.students) >= 2)
    leaving, staying = family.student_ids[0], family.student_ids[1]
    users = export.folder / "users.csv"
    left = family.students[0]
    edit(users, lambda rows: rows.remove(next(r for r in rows if r[0] == left)))
    edit(export.folder / "roles.csv", lambda rows: rows.remove(
        next(r for r in rows if r[3] == left)))
    edit(export.folder / "enrollments.csv", lambda rows: rows.__setitem__(
        slice(None), [r for r in rows if r[5] != left]))
    edit(export.folder / "demographics.csv", lambda rows: rows.__setitem__(
        slice(None), [r for r in rows if r[0] != left]))
    grade = int(export.students[staying]["grade"])
    new_grade = 5 if grade != 5 else 4
    set_cell(users, line_of(users, "identifier", staying), "grades", f"{new_grade:02d}")
    for guardian in family.guardians:  # the guardian rows no longer list the one who left
        line = line_of(users, "sourcedId", guardian)
        set_cell(users, line, "agentSourcedIds", ",".join(family.students[1:]))

    report = imported(export.folder)
    assert (report.counts.gone, report.counts.updated) == (1, 1)
    assert report.counts.links_removed == len(family.guardians)
    assert roster.student_facts("millard", leaving) is None
    moved = roster.student_facts("millard", staying)
    assert moved is not None and moved.grade == new_grade
    (guardian,) = roster.students_of_guardian(family.emails[0])
    assert leaving not in [s.identifier for s in guardian.students]
    _linked_as_guardians_say(store, export)


def _linked_as_guardians_say(engine: Engine, export: Export) -> None:
    """What a signed-in parent's pages take as their students (`store.roster.linked_students`,
    one query) is what their guardians' records give, for every address of the export."""
    for email in {e for family in export.families for e in family.emails}:
        guardians = roster_store.guardians_by_email(engine, email)
        expected = {(g.district, s.identifier) for g in guardians for s in g.students}
        assert roster_store.linked_students(engine, email.upper()) == expected


def test_a_parents_linked_students_are_their_guardians_active_students(
    store: Engine, export: Export
) -> None:
    imported(export.folder)
    _linked_as_guardians_say(store, export)
    family = next(f for f in export.families if len(f.students) >= 2)
    assert {s for _, s in roster_store.linked_students(store, family.emails[0])} \
        == set(family.student_ids)
    assert roster_store.linked_students(store, "nobody@example.org") == frozenset()
    # A person the store holds inactive, student or guardian, gives no student.
    student, other = family.students[0], next(f for f in export.families if f is not family)
    with store.begin() as connection:
        connection.execute(update(RosterPersonRow).where(
            RosterPersonRow.sourced_id.in_([student, *other.guardians])).values(active=False))
    assert family.student_ids[0] not in {s for _, s in roster_store.linked_students(
        store, family.emails[0])}
    assert roster_store.linked_students(store, other.emails[0]) == frozenset()
    _linked_as_guardians_say(store, export)


def _delta(folder: Path) -> None:
    """Make the export's manifest a delta one for users and roles (orgs absent... not
    allowed: orgs delta with no change is its header and one row)."""
    edit(folder / "manifest.csv", lambda rows: rows.__setitem__(slice(None), [
        [r[0], "delta" if r[0] in ("file.users", "file.roles", "file.orgs") else
         ("absent" if r[0] in ("file.enrollments", "file.demographics") else r[1])]
        for r in rows]))


def test_a_delta_export_updates_and_marks_tobedeleted_gone(
    store: Engine, export: Export, tmp_path: Path
) -> None:
    imported(export.folder)
    family = next(f for f in export.families if len(f.students) >= 2)
    gone, changed = family.students[0], family.students[1]
    delta = tmp_path / "delta"
    delta.mkdir()
    for name in ("manifest", "orgs", "users", "roles"):
        (delta / f"{name}.csv").write_bytes((export.folder / f"{name}.csv").read_bytes())
    _delta(delta)
    stamp = "2026-12-01T10:00:00Z"

    def keep(rows: list[list[str]], column: int, wanted: set[str]) -> None:
        rows[1:] = [[*r[:1], "active", stamp, *r[3:]] for r in rows[1:] if r[column] in wanted]

    other = next(f for f in export.families if f is not family and len(f.students) >= 2)
    moved_out = other.guardians[0]  # a guardian gone: their links go with them
    edit(delta / "orgs.csv", lambda rows: keep(rows, 0, {rows[1][0]}))  # the district, unchanged
    edit(delta / "users.csv", lambda rows: keep(rows, 0, {gone, changed, moved_out}))
    edit(delta / "roles.csv", lambda rows: keep(rows, 3, {changed}))
    users = delta / "users.csv"
    set_cell(users, line_of(users, "sourcedId", gone), "status", "tobedeleted")
    set_cell(users, line_of(users, "sourcedId", moved_out), "status", "tobedeleted")
    set_cell(users, line_of(users, "sourcedId", changed), "grades", "KG")

    report = imported(delta)
    assert report.modes["users"] == "delta"
    assert (report.counts.gone, report.counts.updated) == (2, 1)
    removed = len(family.guardians) + len(other.students)
    assert report.counts.links_removed == removed
    assert report.as_dict()["students"] == export.student_count - 1  # nobody else is gone
    assert roster.students_of_guardian(other.emails[0]) == []
    assert roster_store.linked_students(store, other.emails[0]) == frozenset()
    _linked_as_guardians_say(store, export)
    assert roster.student_facts("millard", family.student_ids[0]) is None
    kept = roster.student_facts("millard", family.student_ids[1])
    assert kept is not None and kept.grade == 0
    again = imported(delta)
    assert not again.counts.changed  # a delta applied twice is applied once


# ---- refusals -------------------------------------------------------------------------------


def _users(export: Export) -> Path:
    return export.folder / "users.csv"


def _student_line(export: Export) -> int:
    return line_of(_users(export), "identifier", export.families[3].student_ids[0])


def _guardian_line(export: Export) -> int:
    return line_of(_users(export), "sourcedId", export.families[3].guardians[0])


def _name(value: str) -> Callable[[Export], str]:
    def change(export: Export) -> str:
        line = _student_line(export)
        set_cell(_users(export), line, "givenName", value)
        return f"users.csv line {line}, givenName"
    return change


def _drop_column(export: Export) -> str:
    def change(rows: list[list[str]]) -> None:
        index = rows[0].index("grades")
        for row in rows:
            del row[index]
    edit(_users(export), change)
    return "users.csv line 1: no column 'grades'"


def _duplicate_sourced_id(export: Export) -> str:
    first = line_of(_users(export), "sourcedId", export.families[0].students[0])
    line = _student_line(export)
    set_cell(_users(export), line, "sourcedId", export.families[0].students[0])
    return f"users.csv line {line}, sourcedId: 's-0000-0' is also on line {first}"


def _link_to_nobody(export: Export) -> str:
    line = _guardian_line(export)
    set_cell(_users(export), line, "agentSourcedIds", "s-9999-9")
    return f"users.csv line {line}, agentSourcedIds: 's-9999-9' is no user"


def _duplicate_student_id(export: Export) -> str:
    line = _student_line(export)
    set_cell(_users(export), line, "identifier", export.families[0].student_ids[0])
    return f"users.csv line {line}, identifier: the same student id as line"


def _short_row(export: Export) -> str:
    line = _student_line(export)
    edit(_users(export), lambda rows: rows[line - 1].pop())
    return f"users.csv line {line}: 23 fields, the header has 24"


def _bad_grade(export: Export) -> str:
    line = _student_line(export)
    set_cell(_users(export), line, "grades", "5th")
    return f"users.csv line {line}, grades: '5th' is not a grade"


def _bad_email(export: Export) -> str:
    line = _guardian_line(export)
    set_cell(_users(export), line, "email", "not an address")
    return f"users.csv line {line}, email: is not an e-mail address"


def _tobedeleted_in_bulk(export: Export) -> str:
    line = _student_line(export)
    set_cell(_users(export), line, "status", "tobedeleted")
    return f"users.csv line {line}, status: 'tobedeleted' in a bulk file"


def _unknown_school(export: Export) -> str:
    orgs = export.folder / "orgs.csv"
    set_cell(orgs, 3, "identifier", "hogwarts")
    return "orgs.csv line 3, identifier: 'hogwarts' is no school of the district file"


def _role_of_nobody(export: Export) -> str:
    roles = export.folder / "roles.csv"
    set_cell(roles, 5, "userSourcedId", "x-1")
    return "roles.csv line 5, userSourcedId: 'x-1' is no user of users.csv"


def _enrollment_of_nobody(export: Export) -> str:
    path = export.folder / "enrollments.csv"
    set_cell(path, 7, "userSourcedId", "x-1")
    return "enrollments.csv line 7, userSourcedId: 'x-1' is no user"


def _not_utf8(export: Export) -> str:
    users = _users(export)
    line = _student_line(export)
    lines = users.read_bytes().split(b"\r\n")
    lines[line - 1] = lines[line - 1].replace(b"true", b"tr\xffe", 1)
    users.write_bytes(b"\r\n".join(lines))
    return f"users.csv line {line}: not UTF-8"


def _old_version(export: Export) -> str:
    set_cell(export.folder / "manifest.csv", 3, "value", "1.1")
    return "manifest.csv: oneroster.version is '1.1'"


def _no_manifest_version(export: Export) -> str:
    edit(export.folder / "manifest.csv", lambda rows: rows.pop(1))
    return "manifest.csv: manifest.version is 'missing', not 1.0"


def _a_link(export: Export) -> str:
    users = _users(export)
    target = users.with_name("elsewhere.csv")
    users.rename(target)
    users.symlink_to(target)
    return "users.csv: not a regular file"


REFUSALS_OF = {
    "a control character in a name": (_name("Ana\x07"), "contains U+0007"),
    "a carriage return inside a cell": (_name("Ana\rBob"), "contains U+000D"),
    "a byte order mark inside a cell": (_name("\ufeffAna"), "contains U+FEFF"),
    "a right-to-left override": (_name("Ana\u202e"), "contains U+202E"),
    "a formula in a cell": (_name('=HYPERLINK("http://x")'), "begins with '='"),
    "a name too long": (_name("A" * 101), "101 characters long"),
    "a missing column": (_drop_column, ""),
    "a duplicate sourcedId": (_duplicate_sourced_id, ""),
    "a guardian's link to a student who does not exist": (_link_to_nobody, ""),
    "two students with one id": (_duplicate_student_id, ""),
    "a row short of a field": (_short_row, ""),
    "a grade that is none": (_bad_grade, ""),
    "an address that is none": (_bad_email, ""),
    "tobedeleted in a bulk file": (_tobedeleted_in_bulk, ""),
    "a school the district file does not have": (_unknown_school, ""),
    "a role of a user who does not exist": (_role_of_nobody, ""),
    "an enrollment of a user who does not exist": (_enrollment_of_nobody, ""),
    "bytes that are not UTF-8": (_not_utf8, ""),
    "OneRoster 1.1": (_old_version, ""),
    "a manifest without its version": (_no_manifest_version, ""),
    "a link instead of a file": (_a_link, ""),
}


@pytest.mark.parametrize("case", list(REFUSALS_OF))
def test_a_bad_second_export_is_refused_naming_file_line_and_field_and_changes_nothing(
    store: Engine, export: Export, case: str
) -> None:
    """A first export is in; a later one, with good changes and one malformed row, is refused
    whole: the good changes are not written either."""
    imported(export.folder)
    before = table_rows(store)
    users = _users(export)
    set_cell(users, line_of(users, "identifier", export.families[1].student_ids[0]),
             "grades", "KG" if export.students[export.families[1].student_ids[0]]["grade"]
             != "0" else "01")  # a good change the refusal must not let in
    change, problem = REFUSALS_OF[case]
    where = change(export)
    with pytest.raises(REFUSALS) as refused:
        imported(export.folder)
    message = str(refused.value)
    assert where in message and problem in message, message
    for family in export.families[:5]:  # no name or address of the file in the message
        for email in family.emails:
            assert email not in message
    assert table_rows(store) == before


def test_a_file_over_the_limit_is_refused_before_it_is_read(
    store: Engine, export: Export, monkeypatch: pytest.MonkeyPatch
) -> None:
    size = os.path.getsize(_users(export))
    monkeypatch.setattr(oneroster, "MAX_FILE_BYTES", size - 1)
    with pytest.raises(REFUSALS, match=f"users.csv: {size} bytes, more than the {size - 1}"):
        imported(export.folder)
    assert table_rows(store) == {"roster_schools": [], "roster_people": [],
                                 "roster_links": []}


def test_only_the_staff_who_keep_student_records_import_their_own_district(
    store: Engine, export: Export
) -> None:
    with pytest.raises(REFUSALS, match="rivera .* may not import the roster"):
        imported(export.folder, RIVERA)
    with pytest.raises(REFUSALS, match="'avalos' is not a staff member of millard"):
        imported(export.folder, AVALOS)
    with pytest.raises(REFUSALS, match="the export is for district 'millard', not 'paramount'"):
        roster.import_roster(AVALOS, export.folder, "paramount", YEAR)
    assert table_rows(store)["roster_people"] == []


def test_the_district_is_the_exports_when_not_named(store: Engine, export: Export) -> None:
    report = roster.import_roster(OLSEN, export.folder, None, YEAR)
    assert report.district == "millard"


def test_an_export_of_a_district_without_home_schools_imports_too(
    store: Engine, tmp_path: Path
) -> None:
    """Paramount's file has no attendance areas: its students have none."""
    started = time.perf_counter()
    export = write_export(tmp_path / "paramount", PARAMOUNT, families=60, seed=3,
                          demographics=False, enrollments=False)
    report = roster.import_roster(AVALOS, export.folder, "paramount", YEAR)
    assert report.as_dict()["students"] == export.student_count
    identifier = next(iter(export.students))
    found = roster.student_facts("paramount", identifier)
    assert found is not None and found.attendance_area is None
    assert time.perf_counter() - started < 30
    assert ["file.demographics", "absent"] in rows_of(export.folder / "manifest.csv")


# ---- a submission through the application layer -------------------------------------------


def test_a_submission_takes_the_rosters_grade_over_the_forms(
    store: Engine, tmp_path: Path
) -> None:
    """`app.submissions.prepare_within_form`, as every front submits: the roster's grade,
    schools and residency go into the workflow's input, and what differed is reported."""
    config = w.test_district(datetime.now(UTC), seats={CODY_CORE_3: 5})
    (year,) = config.calendar
    start = int(year[:4])
    export = write_export(tmp_path / "export", config, families=40, seed=2)
    identifier = export.families[0].student_ids[0]
    place(export, identifier, "02", "abbott-elementary", "cody-elementary")
    import_into(store, export.folder, config, f"{start - 1}-{start}")  # grade 2 then, 3 now
    form = w.request(config, 1, CODY_CORE_3, id=identifier, grade=5,
                     current_school="bell-elementary", home_school="abbott-elementary",
                     residency=Residency.other_resident)
    data = form.model_dump(mode="json", exclude={"roster"})

    prepared = submissions.prepare_within_form(data, "form.json", config, OLSEN)

    assert prepared.data["roster"]["known"] is True
    assert {d["field"]: (d["form"], d["roster"]) for d in prepared.data["roster"]["differences"]
            if d["field"] != "student.first_name" and d["field"] != "student.last_name"} == {
        "student.grade": ("5", "3"),
        "student.current_school": ("bell-elementary", "abbott-elementary"),
        "student.home_school": ("abbott-elementary", "cody-elementary"),
        "student.residency": ("other_resident", "attendance_area"),
    }
    stranger = w.request(config, 2, CODY_CORE_3, id="NEW0002", grade=3,
                         current_school="abbott-elementary", home_school="cody-elementary",
                         residency=Residency.attendance_area)
    new = submissions.prepare_within_form(stranger.model_dump(mode="json", exclude={"roster"}),
                                          "new.json", config, OLSEN)
    assert new.data["roster"]["known"] is False


def test_the_rosters_year_is_the_one_today_falls_in_or_the_next_in_the_summer() -> None:
    assert roster.roster_year(PARAMOUNT, date(2026, 3, 1)) == "2025-2026"
    assert roster.roster_year(PARAMOUNT, date(2026, 6, 4)) == "2025-2026"  # its last day
    assert roster.roster_year(PARAMOUNT, date(2026, 7, 1)) == "2026-2027"  # the summer
    with pytest.raises(REFUSALS, match="no school year after 2029-06-01: name the roster's"):
        roster.roster_year(PARAMOUNT, date(2029, 6, 1))


def test_random_damage_to_an_export_is_refused_or_read_never_a_crash(
    store: Engine, tmp_path: Path
) -> None:
    """Bytes of users.csv and roles.csv overwritten at random, 60 times: each import is read
    or refused with its reason (a refusal of the application layer), and a refusal leaves the
    store as it was."""
    import random

    rng = random.Random(1818)
    export = write_export(tmp_path / "clean", MILLARD, families=30, seed=9)
    imported(export.folder)
    refused = 0
    for attempt in range(60):
        before = table_rows(store)
        damaged = tmp_path / f"damaged-{attempt}"
        damaged.mkdir()
        for file in export.folder.iterdir():
            data = bytearray(file.read_bytes())
            if file.name in ("users.csv", "roles.csv"):
                for _ in range(rng.randint(1, 4)):
                    data[rng.randrange(len(data))] = rng.choice(b'\x00\r\n",=\xff\xc3a0')
            (damaged / file.name).write_bytes(bytes(data))
        try:
            imported(damaged)
        except REFUSALS as refusal:
            refused += 1
            assert str(refusal).split(" ")[0] in ("users.csv", "roles.csv", "users.csv,"), (
                str(refusal))
            assert table_rows(store) == before
    assert 10 <= refused <= 60, refused  # most damage is refused; some reads as other text


def test_a_delta_student_with_the_id_of_one_the_roster_holds_is_refused(
    store: Engine, export: Export, tmp_path: Path
) -> None:
    imported(export.folder)
    before = table_rows(store)
    delta = tmp_path / "delta"
    delta.mkdir()
    for name in ("manifest", "orgs", "users", "roles"):
        (delta / f"{name}.csv").write_bytes((export.folder / f"{name}.csv").read_bytes())
    _delta(delta)
    newcomer = export.families[5].students[0]
    held = export.families[6].student_ids[0]

    def keep(rows: list[list[str]], column: int, wanted: set[str]) -> None:
        rows[1:] = [[*r[:1], "active", "2026-12-01T10:00:00Z", *r[3:]] for r in rows[1:]
                    if r[column] in wanted]

    edit(delta / "orgs.csv", lambda rows: keep(rows, 0, {rows[1][0]}))
    edit(delta / "users.csv", lambda rows: keep(rows, 0, {newcomer}))
    edit(delta / "roles.csv", lambda rows: keep(rows, 3, {newcomer}))
    users = delta / "users.csv"
    set_cell(users, 2, "sourcedId", "s-new")
    set_cell(users, 2, "identifier", held)
    edit(delta / "roles.csv", lambda rows: rows[1].__setitem__(3, "s-new"))
    with pytest.raises(REFUSALS, match="users.csv line 2, identifier: the same student id as "
                                       "the roster's student 's-0006-0'"):
        imported(delta)
    assert table_rows(store) == before


def test_two_imports_at_once_leave_the_roster_one_import_would(
    store: Engine, export: Export
) -> None:
    """Each is written whole or refused saying to run it again; the roster is the export's."""
    from concurrent.futures import ThreadPoolExecutor

    def attempt(_: int) -> str:
        try:
            imported(export.folder)
        except REFUSALS as refusal:
            assert "at the same time" in str(refusal), str(refusal)
            return "refused"
        return "written"

    with ThreadPoolExecutor(max_workers=3) as pool:
        outcomes = list(pool.map(attempt, range(3)))
    assert "written" in outcomes
    again = imported(export.folder)
    assert not again.counts.changed
    assert again.as_dict()["students"] == export.student_count
