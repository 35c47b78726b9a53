"""``transfers db``: the records database's schema revision (`app.database`).

- ``transfers db upgrade``: apply the missing migrations; prints from which revision to which.
- ``transfers db current``: the database's revision and whether it is the code's head; exit
  status 1 when it is not (behind, empty, made before migrations, or newer than the code).
- ``transfers db rebuild``: the store rebuilt from the workflows in Temporal, with every
  difference it made."""

from __future__ import annotations

import typer

from app import database
from app.errors import REFUSALS, Refused
from cli.common import JsonFlag, emit, run

db_app = typer.Typer(help="The records database.", no_args_is_help=True)


@db_app.command()
def upgrade() -> None:
    """Apply the missing migrations (safe twice, and while another process does it)."""
    try:
        typer.echo(database.upgrade())
    except Refused as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None


@db_app.command()
def current() -> None:
    """The database's revision and whether it is the code's head (exit 1 when not)."""
    try:
        found = database.current()
    except Refused as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None
    typer.echo(found.text)
    if not found.current:
        raise typer.Exit(1)


@db_app.command()
def rebuild(as_json: JsonFlag = False) -> None:
    """Rebuild the records store from the workflows in Temporal and report every row that
    was missing or differed (docs/cross-cutting.md "Records you can lose")."""
    from app.rebuild import rebuild_store  # a worker of its own: Temporal's SDK, the workflows

    try:
        report = run(rebuild_store())
    except REFUSALS as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None
    emit(as_json, report.as_data(), lambda: [typer.echo(line) for line in report.lines()])


@db_app.command("rotate-key")
def rotate_key() -> None:
    """Make a new key for the proofs staff actions carry, and retire the current one (it
    still verifies what it signed). Run it when a key may have leaked, or on a schedule."""
    try:
        typer.echo(database.rotate_proof_key())
    except Refused as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(1) from None
