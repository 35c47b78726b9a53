"""Exports of a district's school year as CSV (docs/cross-cutting.md "Exports and the
dashboard"): every request of both processes, and the placements for the student information
system with the two transfer fields of CALPADS' Student Enrollment (SENR) file that a
California district files:

- 1.30 Student School Transfer Code: ``1``, Formal Interdistrict Transfer Agreement, for a
  permit under EC 46600 (CALPADS Update FLASH #318, December 3, 2025, lists the codes
  1 Formal Interdistrict Transfer Agreement, 2 Public School Choice, 4 District of Choice,
  5 Disciplinary COE School Transfer; FLASH #281, June 18, 2024, gives 6 Other Transfer).
- 1.31 District of Geographic Residence Code: the 7-digit county-district code of the
  district the student lives in (CALPADS validation SENR0192: "a valid 7-digit County
  District (CD) code").

Only the staff who keep student records may export (``reports.export`` in rules/roles.py),
and only their own district's. Every cell that a spreadsheet would read as a formula is
neutralised with a leading apostrophe (OWASP, "CSV Injection")."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from app import context
from app.errors import Refused
from app.principal import Principal
from models.district import DistrictConfig
from models.requests import Direction
from models.state import RequestState
from models.within_request import WithinRequestState, WithinStage
from rules.calendar import local_date
from rules.roles import check_role
from store import reports
from store.records import WITHIN, AnyState
from store.reports import Placement

EXPORT = "reports.export"  # the action of rules/roles.py that may export
SCHOOL_YEAR = re.compile(r"^(\d{4})-(\d{4})$")
# What a spreadsheet takes for the start of a formula (OWASP "CSV Injection"): these four,
# and a tab or carriage return, which some strip before reading the rest.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# CALPADS code set "Student School Transfer Category", code 1 (FLASH #318).
FORMAL_INTERDISTRICT_TRANSFER = "1"

REQUEST_COLUMNS = (
    "request_id", "district", "process", "direction", "school_year",
    "student_id", "student_last_name", "student_first_name", "grade",
    "school_requested", "school_assigned", "current_school", "other_district",
    "stage", "outcome", "received_on", "decided_on",
    "documents_due", "release_due", "decision_due", "statutory_due", "appeal_deadline",
    "offer_deadline", "denial_reasons", "permit_id",
)
PLACEMENT_COLUMNS = (
    "request_id", "permit_id", "process", "direction", "school_year",
    "student_id", "student_last_name", "student_first_name", "grade",
    "school_of_enrollment_id", "school_of_enrollment_name", "program",
    "district_of_enrollment", "district_of_residence", "permit_condition", "permit_stage",
    "senr_1_30_student_school_transfer_code",
    "senr_1_31_district_of_geographic_residence_code",
)


@dataclass(frozen=True)
class Export:
    """A CSV file: its suggested name, its text (a header and one line per row), how many
    rows, and what it could not fill (request ids and district names, never a student's)."""

    filename: str
    text: str
    rows: int
    warnings: tuple[str, ...] = ()


def neutralised(value: object) -> str:
    """The cell as text, with an apostrophe before a formula's first character."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def to_csv(columns: Sequence[str], rows: Iterable[Sequence[object]]) -> tuple[str, int]:
    """The CSV text (RFC 4180: CRLF, quoted where needed) and its number of rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    count = 0
    for row in rows:
        writer.writerow([neutralised(cell) for cell in row])
        count += 1
    return buffer.getvalue(), count


def school_year_checked(text: str) -> str:
    match = SCHOOL_YEAR.match(text)
    if match is None or int(match[2]) != int(match[1]) + 1:
        raise Refused(f"{text!r} is not a school year (YYYY-YYYY, its two years following "
                      "each other, e.g. 2027-2028)")
    return text


def exporter(principal: Principal, district_id: str) -> DistrictConfig:
    """The district's file, once the principal is on its roster with a role that may
    export; refused otherwise (a member of another district is not on this one's)."""
    config = context.district(district_id)
    actor = context.staff(config, principal)
    check_role(EXPORT, actor.name, actor.roles)
    return config


# ---- requests ----------------------------------------------------------------------------


def requests_csv(principal: Principal, district_id: str, school_year: str) -> Export:
    """Every request of the district for the school year, both processes, in order of
    receipt."""
    config = exporter(principal, district_id)
    states = reports.requests_of(context.engine(), config.id, school_year_checked(school_year))
    text, count = to_csv(REQUEST_COLUMNS, (_request_row(config, s) for s in states))
    return Export(f"requests-{config.id}-{school_year}.csv", text, count)


def _request_row(config: DistrictConfig, state: AnyState) -> list[object]:
    student, tz = state.request.student, state.timezone
    received = local_date(state.received_at, tz)
    decided = local_date(state.decided_at, tz) if state.decided_at else None
    common = [state.id, config.id]
    person = [student.id, student.last_name, student.first_name, student.grade]
    tail = [state.stage.value, reports.outcome(reports.counted(state)), received, decided]
    if isinstance(state, WithinRequestState):
        wanted = state.request
        denied = state.reason if state.stage is WithinStage.denied else ""
        return [*common, WITHIN, WITHIN, wanted.school_year, *person,
                wanted.school, state.assigned_school, wanted.student.current_school, "",
                *tail, None, None, None, None, None, state.offer_deadline, denied,
                state.permit_id]
    request = state.request
    return [*common, reports.INTERDISTRICT, request.direction.value, request.school_year,
            *person, request.preferred_school, state.assigned_school, "",
            request.other_district, *tail, state.documents_due, state.release_due,
            state.decision_due, state.statutory_due, state.appeal_deadline, None,
            "; ".join(r.value for r in state.denial_reasons), state.permit_id]


# ---- placements for the SIS --------------------------------------------------------------


def placements_csv(principal: Principal, district_id: str, school_year: str) -> Export:
    """The students the district placed for the school year (approved or placed, and
    permits of earlier years now in it), with the SENR transfer fields."""
    config = exporter(principal, district_id)
    found = reports.placements(context.engine(), config.id, school_year_checked(school_year))
    warnings: list[str] = []
    rows = [_placement_row(config, school_year, p, warnings.append) for p in found]
    text, count = to_csv(PLACEMENT_COLUMNS, rows)
    return Export(f"placements-{config.id}-{school_year}.csv", text, count, tuple(warnings))


def _placement_row(
    config: DistrictConfig, school_year: str, placement: Placement, warn: Callable[[str], None]
) -> list[object]:
    state, permit = placement.request, placement.permit
    student = state.request.student
    grade = permit.grade if permit and permit.school_year == school_year else student.grade
    permit_facts = [permit.condition.value if permit else "", permit.stage.value if permit else ""]
    if isinstance(state, WithinRequestState):
        school = state.assigned_school or state.request.school
        program = (state.assigned_program or state.request.program).value
        where = [school, school_name(config, school), program, config.name, config.name]
        process, direction = WITHIN, WITHIN
    else:
        process, direction = reports.INTERDISTRICT, state.request.direction.value
        other = state.request.other_district
        # No program: that is a within-district placement's (Rule 5110.1 VII).
        if state.request.direction is Direction.into:
            school = state.assigned_school or ""
            where = [school, school_name(config, school), "", config.name, other]
        else:  # to the other district's school: the one the parent named, if any
            where = ["", state.request.preferred_school or "", "", other, config.name]
    senr = senr_transfer(config, state, warn)
    return [state.id, state.permit_id or (permit.id if permit else ""), process, direction,
            school_year, student.id, student.last_name, student.first_name, grade,
            *where, *permit_facts, *senr]


def school_name(config: DistrictConfig, school_id: str) -> str:
    school = config.school(school_id) if school_id else None
    return school.name if school else school_id


def senr_transfer(
    config: DistrictConfig, state: AnyState, warn: Callable[[str], None]
) -> tuple[str, str]:
    """SENR 1.30 and 1.31 for a placement, as the district of enrollment files them.

    Only California districts file CALPADS (``state = "CA"``); a within-district transfer
    carries neither (the student lives in the district; no code of the set is confirmed for
    it). An interdistrict permit is a formal interdistrict transfer agreement (EC 46600), code
    1; the district of residence is the other district for a student coming in, this one
    for a student leaving (whose new district files the record: the columns are for it)."""
    if config.state != "CA" or not isinstance(state, RequestState):
        return "", ""
    if state.request.direction is Direction.into:
        residence = state.request.other_district
        code = _cd_code_of(config, residence)
        where = f"other_district_cd_codes of districts/{config.id}.toml"
    else:
        residence, code = config.name, config.cd_code
        where = f"cd_code of districts/{config.id}.toml"
    if code is None:
        warn(f"{state.id}: no county-district code for {residence!r} ({where}): SENR 1.31 "
             "left empty")
        code = ""
    return FORMAL_INTERDISTRICT_TRANSFER, code


def _cd_code_of(config: DistrictConfig, district_name: str) -> str | None:
    """The code the district file gives the district ``district_name`` names, case and
    spacing aside (a request's ``other_district`` is typed)."""
    wanted = " ".join(district_name.split()).casefold()
    return next((code for name, code in config.other_district_cd_codes.items()
                 if " ".join(name.split()).casefold() == wanted), None)
