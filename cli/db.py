"""``transfers db``: the records database's schema revision (`app.database`).

- ``transfers db upgrade``: apply the missing migrations; prints from which revision to which.
- ``transfers db current``: the database's revision and whether it is the code's head; exit
  status 1 when it is not (behind, empty, made before migrations, or newer than the code)."""

from __future__ import annotations

import typer

from app import database
from app.errors import Refused

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
