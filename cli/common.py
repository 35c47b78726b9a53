"""What the modules of the staff command line share (`starter.py` for the command itself and
the interdistrict permits, `within_cli.py` for within-district transfers): the consoles, the
option types, refusals, settings, the Temporal client, Updates and Queries, and output.

A refused action raises ``Refused`` (or a ``PolicyError``); ``refusing`` turns it into
``error: <reason>`` on stderr and exit status 1, with nothing changed."""

from __future__ import annotations

import asyncio
import functools
import json
import os
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any, TypeVar

import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console
from sqlalchemy import Engine
from temporalio.client import Client, WorkflowQueryFailedError, WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from districts import UnknownDistrictError, load_district
from infra.settings import Settings, connect, load_settings
from models.district import DistrictBase, DistrictConfig
from models.people import Actor
from models.state import RequestState
from models.within_request import WithinRequestState
from rules.errors import PolicyError
from store import records
from store.engine import engine_for
from store.migrate import DatabaseNotCurrent

out = Console()
err = Console(stderr=True, soft_wrap=True)
T = TypeVar("T")

JsonFlag = Annotated[bool, typer.Option("--json", help="machine-readable output")]
ActorOption = Annotated[str, typer.Option("--actor", help="staff member, as the district names")]

AnyState = RequestState | WithinRequestState


class Refused(Exception):
    """An action refused before or by the workflow; the message says why."""


def refusing(command: Callable[..., None]) -> Callable[..., None]:
    """Turn a refusal into its reason on stderr and exit status 1 (no traceback)."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        try:
            command(*args, **kwargs)
        except ValidationError as error:  # an option's value the action's model refuses
            err.print(f"error: {validation_problems(error)}", markup=False, highlight=False)
            raise typer.Exit(1) from None
        except (Refused, PolicyError, DatabaseNotCurrent) as error:
            err.print(f"error: {error}", markup=False, highlight=False)
            raise typer.Exit(1) from None

    return wrapper


def validation_problems(error: ValidationError) -> str:
    """Each wrong field and what is wrong with it, without the input (it may be huge)."""
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or error.title}: {e['msg']}"
        for e in error.errors()
    )


def _settings() -> Settings:
    try:
        return load_settings()
    except ValueError as error:  # a variable of the environment's: its name and the problem
        raise Refused(str(error)) from None


def _engine() -> Engine:
    return engine_for(_settings().database_url)


def _district(district_id: str) -> DistrictConfig:
    try:
        return load_district(district_id, _settings().districts_dir)
    except UnknownDistrictError as error:
        raise Refused(str(error).strip('"')) from None


def _actor(config: DistrictBase, name: str) -> Actor:
    member = config.staff_member(name)
    if member is None:
        raise Refused(f"{name!r} is not a staff member of {config.id}")
    return Actor(name=member.name, roles=list(member.roles))


def _any_request(request_id: str) -> AnyState:
    """A request of either process, from the records store."""
    state = records.get_request(_engine(), request_id)
    if state is None:
        raise Refused(f"no request {request_id!r}")
    return state


def _run(
    coroutine: Awaitable[T], loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = None
) -> T:
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        return runner.run(coroutine)  # type: ignore[arg-type]


def _emit(as_json: bool, data: Any, human: Callable[[], None]) -> None:
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


def _say(text: str) -> None:
    """A line of output as it is: no markup, no highlighting (ids and reasons may hold []),
    not wrapped."""
    out.print(text, markup=False, highlight=False, soft_wrap=True)


def _parse_date(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise Refused(f"{option}: {text!r} is not a date (YYYY-MM-DD)") from None


async def _client() -> Client:
    try:
        return await connect()
    except RuntimeError as error:
        address = os.environ.get("TEMPORAL_ADDRESS", "localhost:7233")
        raise Refused(f"cannot reach Temporal at {address}: {error}") from None
    except ValueError as error:  # a bad setting (encryption keys, TLS files): it names itself
        raise Refused(str(error)) from None


def _rpc_refusal(workflow_id: str, error: RPCError) -> Refused:
    if error.status is RPCStatusCode.NOT_FOUND:
        return Refused(f"{workflow_id} is not running ({error.message})")
    return Refused(f"{workflow_id}: {error.message}")


async def _update(
    workflow_id: str, update: Any, action: BaseModel, result_type: type = RequestState
) -> Any:
    """Send a staff action as an Update; the workflow's refusal becomes ``Refused``."""
    client = await _client()
    handle = client.get_workflow_handle(workflow_id)
    try:
        return await handle.execute_update(update, action, result_type=result_type)
    except WorkflowUpdateFailedError as error:
        cause = error.cause
        raise Refused(getattr(cause, "message", None) or str(cause)) from None
    except RPCError as error:
        raise _rpc_refusal(workflow_id, error) from None


async def _query(workflow_id: str, query: Any, *args: Any, result_type: type) -> Any:
    """Ask a workflow (running or ended) a Query; it changes nothing."""
    client = await _client()
    handle = client.get_workflow_handle(workflow_id)
    try:
        return await handle.query(query, *args, result_type=result_type)
    except WorkflowQueryFailedError as error:
        raise Refused(f"{workflow_id}: {error.message}") from None
    except RPCError as error:
        raise _rpc_refusal(workflow_id, error) from None


@dataclass
class Prepared:
    """A request form that passed every intake check, ready to start: ``start`` starts its
    workflow(s) with a connected client; ``data`` is what ``submit`` reports."""

    id: str
    data: dict[str, Any]
    start: Callable[[Client], Awaitable[object]]
    student: tuple[str, str, str] = field(default=("", "", ""))  # district, student, year
