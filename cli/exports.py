"""``transfers export requests|placements``: a district's school year as CSV
(`app/exports.py`; docs/cross-cutting.md "Exports and the dashboard"). The CSV goes to
``--out`` (created 0600: it holds student records) or to standard output; what could not be
filled goes to standard error."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from app.errors import Refused
from cli.common import ActorOption, err, principal, refusing, say

if TYPE_CHECKING:
    from app.exports import Export

export_app = typer.Typer(
    help="A district's school year as CSV: its requests, or its placements for the SIS "
    "(with the CALPADS SENR transfer fields).",
    no_args_is_help=True,
)

DistrictOption = Annotated[str, typer.Option("--district", help="the district's id")]
YearOption = Annotated[str, typer.Option("--school-year", help="e.g. 2027-2028")]
OutOption = Annotated[Path | None, typer.Option(
    "--out", help="write the CSV to this file (default: standard output)")]


@export_app.command("requests")
@refusing
def requests(district: DistrictOption, school_year: YearOption, out: OutOption = None,
             actor: ActorOption = "") -> None:
    """Every request of both processes of the district's school year."""
    from app import exports  # when the command runs: `transfers` starts without it

    _deliver(exports.requests_csv(principal(actor), district, school_year), out)


@export_app.command("placements")
@refusing
def placements(district: DistrictOption, school_year: YearOption, out: OutOption = None,
               actor: ActorOption = "") -> None:
    """The students placed for the school year, with their permits and SENR 1.30 and 1.31."""
    from app import exports

    _deliver(exports.placements_csv(principal(actor), district, school_year), out)


def _deliver(export: Export, out: Path | None) -> None:
    for warning in export.warnings:
        err.print(f"warning: {warning}", markup=False, highlight=False)
    if out is None:
        typer.echo(export.text, nl=False)
        return
    try:  # private from its creation: never a moment readable by others
        descriptor = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    except OSError as error:
        raise Refused(f"--out: cannot write {out}: {error.strerror}") from None
    with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as file:
        file.write(export.text)
    say(f"{export.rows} rows written to {out}")
