"""``transfers roster import FOLDER``: the district's roster from its student information
system, a OneRoster 1.2 CSV export (`app/roster.py`; docs/cross-cutting.md "Roster"). It says
what changed in counts, never a name; a refused export changes nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.common import ActorOption, JsonFlag, emit, principal, refusing, say
from models.roster import RosterCheck

NAME_FIELDS = ("student.first_name", "student.last_name")  # shown; the form's name is kept

roster_app = typer.Typer(
    help="The district's roster of students and guardians, from its SIS (OneRoster 1.2 CSV).",
    no_args_is_help=True,
)


@roster_app.command("import")
@refusing
def import_(
    folder: Annotated[Path, typer.Argument(help="the export's folder (manifest.csv, ...)")],
    district: Annotated[str | None, typer.Option(
        "--district", help="the district's id (default: the identifier of the export's "
                           "district org)")] = None,
    school_year: Annotated[str | None, typer.Option(
        "--school-year", help="the year the roster's grades are in (default: the district's "
                              "current year, or the next in the summer)")] = None,
    actor: ActorOption = "",
    as_json: JsonFlag = False,
) -> None:
    """Read a OneRoster 1.2 CSV export and bring the district's roster to what it says."""
    from app import roster  # when the command runs: `transfers` starts without it

    report = roster.import_roster(principal(actor), folder, district, school_year)
    data = report.as_dict()

    def human() -> None:
        c = report.counts
        say(f"roster of {report.district} ({report.school_year}): {c.added} added, "
            f"{c.updated} updated, {c.gone} gone, {c.unchanged} unchanged; links "
            f"+{c.links_added} -{c.links_removed}")
        say(f"now {data['students']} students, {data['guardians']} guardians, "
            f"{data['links']} links ({report.seconds:.2f} s)")

    emit(as_json, data, human)


def roster_lines(check: RosterCheck | None) -> list[str]:
    """What `transfers show` says of the roster's check at intake: known or not, and each
    fact the form gave otherwise (the request carries the roster's)."""
    if check is None:  # a request from before the roster
        return []
    if not check.known:
        return [f"roster: {check.note}"]
    lines = [f"roster: known ({check.roster_school_year})"
             + (f"; {check.note}" if check.note else "")]
    lines += [f"roster differs: {d.field}: form {d.form}, roster {d.roster} (roster's taken)"
              if d.field not in NAME_FIELDS else
              f"roster differs: {d.field}: form {d.form}, roster {d.roster}"
              for d in check.differences]
    return lines
