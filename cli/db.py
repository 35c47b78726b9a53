"""``transfers db``: the records database's schema revision (`store.migrate`).

- ``transfers db upgrade``: apply the missing migrations; prints from which revision to which.
- ``transfers db current``: the database's revision and whether it is the code's head; exit
  status 1 when it is not (behind, empty, made before migrations, or newer than the code)."""

from __future__ import annotations

from pathlib import Path

import typer
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from infra.settings import load_settings
from store import migrate
from store.engine import open_engine

db_app = typer.Typer(help="The records database.", no_args_is_help=True)


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(1)


def _open() -> Engine:
    # As it is: no implicit creation, so `upgrade` reports what it did itself.
    return open_engine(load_settings().database_url)


def _unreachable(engine: Engine, error: OperationalError) -> typer.Exit:
    where = migrate.display_url(engine.url)
    return _fail(f"cannot open the records database at {where}: {error.orig}")


@db_app.command()
def upgrade() -> None:
    """Apply the missing migrations (safe twice, and while another process does it)."""
    engine = _open()
    try:
        done = migrate.upgrade(engine)
        where = migrate.status(engine).where
    except migrate.DatabaseNotCurrent as error:
        raise _fail(str(error)) from None
    except OperationalError as error:
        raise _unreachable(engine, error) from None
    finally:
        engine.dispose()
    if not done.changed:
        typer.echo(f"the records database at {where} is already at {done.after} (head)")
        return
    before = done.before or "none (empty)"
    if done.adopted:
        before = f"{done.before} (tables made before migrations, recorded as {done.before})"
    typer.echo(f"upgraded the records database at {where} from {before} to {done.after} (head)")


@db_app.command()
def current() -> None:
    """The database's revision and whether it is the code's head (exit 1 when not)."""
    url = load_settings().database_url
    parsed = make_url(url)
    file = parsed.database if parsed.get_backend_name() == "sqlite" else None
    if file and file != ":memory:" and not Path(file).exists():  # look, without creating it
        head = migrate.head_revision()
        typer.echo(
            f"none: no records database at {file}; the code needs {head}: "
            f"run `{migrate.UPGRADE_COMMAND}` (or start the worker)"
        )
        raise typer.Exit(1)
    engine = _open()
    try:
        found = migrate.status(engine)
    except OperationalError as error:
        raise _unreachable(engine, error) from None
    finally:
        engine.dispose()
    if found.state == "current":
        typer.echo(f"{found.current} (head) at {found.where}")
        return
    typer.echo(f"{found.current or 'none'}: {found.message}")
    raise typer.Exit(1)
