"""What the modules of the staff command line share: the consoles, the option types,
refusals, running an operation of the application layer, and output.

An operation that refuses raises one of `app.errors.REFUSALS`; ``refusing`` turns it into
``error: <reason>`` on stderr and exit status 1, with nothing changed."""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Callable, Coroutine, Iterable, Sequence
from datetime import date
from typing import Annotated, Any, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console

from app import signin
from app.errors import REFUSALS, Refused
from app.principal import Principal

out = Console()
err = Console(stderr=True, soft_wrap=True)
T = TypeVar("T")

JsonFlag = Annotated[bool, typer.Option("--json", help="machine-readable output")]
ActorOption = Annotated[str, typer.Option(
    "--actor", help="act as the signed-in staff member of this roster name or address "
                    "(default: the newest sign-in)")]


def refusing(command: Callable[..., None]) -> Callable[..., None]:
    """Turn a refusal into its reason on stderr and exit status 1 (no traceback)."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            if "actor" in kwargs:  # whom it acts for, before anything is read or sent
                principal(kwargs["actor"])
            command(*args, **kwargs)
        except ValidationError as error:  # an option's value the action's model refuses
            err.print(f"error: {validation_problems(error)}", markup=False, highlight=False)
            raise typer.Exit(1) from None
        except REFUSALS as error:
            err.print(f"error: {error}", markup=False, highlight=False)
            raise typer.Exit(1) from None

    return wrapper


def validation_problems(error: ValidationError) -> str:
    """Each wrong field and what is wrong with it, without the input (it may be huge)."""
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or error.title}: {e['msg']}"
        for e in error.errors()
    )


def principal(actor: str = "") -> Principal:
    """The person the command acts as: the session of ``--actor`` (a roster name or address)
    or the newest; refused when nobody is signed in (`transfers login`)."""
    return signin.signed_in(actor or None)


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """An operation of the application layer, to its end."""
    with asyncio.Runner() as runner:
        return runner.run(coroutine)


def emit(as_json: bool, data: Any, human: Callable[[], None]) -> None:
    if as_json:
        out.print_json(json.dumps(data, default=str))
    else:
        human()


def print_rows(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """A plain table, columns padded to their widest cell: how the list commands print.
    Rich's Table measures and styles every cell, which took 1.25 s for the 1,000 rows a list
    can show (bench/idle.py); this takes milliseconds. Nothing is cut or wrapped."""
    cells = [[str(cell) for cell in row] for row in rows]
    widths = [max([len(h), *(len(row[i]) for row in cells)]) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)).rstrip()

    lines = [line(headers), line(["-" * w for w in widths]), *map(line, cells)]
    typer.echo("\n".join(lines))


def say(text: str) -> None:
    """A line of output as it is: no markup, no highlighting (ids and reasons may hold []),
    no emoji codes (a note's ":x:" stays itself; and Rich's table of them is not loaded),
    not wrapped."""
    out.print(text, markup=False, highlight=False, emoji=False, soft_wrap=True)


def parse_date(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise Refused(f"{option}: {text!r} is not a date (YYYY-MM-DD)") from None


def grade(grade: int) -> str:
    return "K" if grade == 0 else str(grade)
