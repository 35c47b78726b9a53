"""The district's roster (docs/cross-cutting.md "Roster"): staff import the student
information system's OneRoster 1.2 CSV export; intake and the parent portal look a student
up by the district's student id, and a guardian's students by their address.

The import is all or nothing: the whole export is read and checked first (`intake.oneroster`)
and then written in one transaction (`store.roster.apply`); a refusal names the file, the
line and the field and writes nothing."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy.exc import IntegrityError

from app import context
from app.errors import Refused
from app.principal import Principal
from districts import UnknownDistrictError, load_within_district
from intake.oneroster import district_of, read_export
from intake.roster_changes import changes_for
from models.district import DistrictConfig
from models.roster import RosterGuardian, RosterStudent
from rules.calendar import local_date
from rules.roles import check_role
from store import roster as store

IMPORT = "roster.import"  # the action of rules/roles.py that may import


@dataclass(frozen=True)
class ImportReport:
    """What an import did: counts only (never a name)."""

    district: str
    school_year: str
    modes: dict[str, str]
    counts: store.Counts
    totals: dict[str, int]
    other_users: int
    seconds: float

    def as_dict(self) -> dict[str, object]:
        c = self.counts
        return {
            "district": self.district, "school_year": self.school_year, "modes": self.modes,
            "added": c.added, "updated": c.updated, "gone": c.gone, "unchanged": c.unchanged,
            "links_added": c.links_added, "links_removed": c.links_removed,
            "changed": c.changed, "other_users": self.other_users, **self.totals,
            "seconds": round(self.seconds, 3),
        }


def roster_year(config: DistrictConfig, today: date) -> str:
    """The school year a roster exported ``today`` gives the grades of: the district's year
    that ``today`` falls in, or between two years (the summer) the one that starts next."""
    years = sorted(config.calendar.items(), key=lambda item: item[1].first_day)
    for name, year in years:
        if today <= year.last_day:
            return name
    raise Refused(f"{config.id}'s calendar has no school year after {today}: name the "
                  "roster's with --school-year")


def import_roster(
    principal: Principal, folder: Path, district_id: str | None = None,
    school_year: str | None = None,
) -> ImportReport:
    started = time.perf_counter()
    if district_id is None:
        district_id = district_of(folder)
        if district_id is None:
            raise Refused(f"{folder.name}: orgs.csv names no one district by its identifier: "
                          "name it with --district")
    config = context.district(district_id)
    actor = context.staff(config, principal)
    check_role(IMPORT, actor.name, actor.roles)
    if school_year is None:
        school_year = roster_year(config, local_date(datetime.now(UTC), config.timezone))
    elif school_year not in config.calendar:
        known = ", ".join(sorted(config.calendar))
        raise Refused(f"--school-year {school_year} is not in {config.id}'s calendar "
                      f"(known: {known})")
    engine = context.engine()
    held = store.stored(engine, config.id)
    export = read_export(folder, {s.id for s in config.schools}, held.orgs, held.people,
                         config.id)
    changes = changes_for(export, school_year, attendance_areas(config.id), held.orgs)
    try:
        counts = store.apply(engine, config.id, changes, datetime.now(UTC))
    except store.SameStudentId as error:  # a delta's student and one the store holds
        new = next((export.people[s] for s in error.sourced_ids if s in export.people), None)
        where = f"users.csv line {new.line}, identifier" if new else "users.csv, identifier"
        others = ", ".join(repr(s) for s in error.sourced_ids if new is None
                           or s != new.sourced_id)
        raise Refused(f"{where}: the same student id as the roster's student {others}; "
                      "nothing was written") from None
    except IntegrityError:  # another import of the district wrote the same rows meanwhile
        raise Refused(f"another import of {config.id}'s roster ran at the same time and "
                      "nothing of this one was written: run it again") from None
    return ImportReport(config.id, school_year, export.modes, counts,
                        store.count(engine, config.id), export.other_users,
                        time.perf_counter() - started)


def attendance_areas(district_id: str) -> dict[str, str]:
    """Each school's attendance area, where the district file gives them (a within-district
    district's); none otherwise."""
    try:
        config = load_within_district(district_id, context.settings().districts_dir)
    except (UnknownDistrictError, ValueError):
        return {}
    return {s.id: s.attendance_area for s in config.schools}


def student_facts(district_id: str, student_id: str) -> RosterStudent | None:
    """The roster's facts of the district's student of this id (the roster's
    ``identifier``, the id the district's forms carry), or None when the roster does not
    know them. For the caller that has already decided who may see them (intake, the
    portal's signed-in parent)."""
    return store.student(context.engine(), district_id, student_id)


def students_of_guardian(email: str) -> list[RosterGuardian]:
    """The roster's guardians of this address (case ignored), each with their students:
    whom a parent signed in with this address may see."""
    return store.guardians_by_email(context.engine(), email)
