"""The bad-input tests' world (tests/e2e/bad_input/): one real stack (the Temporal dev server,
a worker process, SMTP on loopback) shared by the package, the `transfers` CLI run in this
process, the requests the corpus acts on, what "nothing changed" means, and what a corpus case
is and must do.

Two districts are written for the run, with dates relative to today so the tests keep
working: ``baddistrict`` (interdistrict permits; its current school year began 30 days ago, a
later one does not take requests yet) and ``badwithin`` (within-district, Millard's schools
and staff: the current-year window (IX) and the next year's window (VIII.A) are open, a later
year's are not)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
import typer
import typer.main
import typer.testing
from sqlalchemy import Engine, select
from typer.testing import CliRunner, Result

from cli.main import app
from districts import SHIPPED_DIR
from store.engine import engine_for
from store.schema import Base
from tests.support.e2e import district_toml, running, toml_value
from tests.support.paths import ROOT
from tests.support.waiting import CEILING, until

EXAMPLES = ROOT / "examples"
runner = CliRunner()
CENTRAL = ZoneInfo("America/Chicago")
PACIFIC = ZoneInfo("America/Los_Angeles")
MB = 1024 * 1024


# ---- the districts ---------------------------------------------------------------------------


def _year(start: int) -> str:
    return f"{start}-{start + 1}"


@dataclass(frozen=True)
class Years:
    """The school years of the run's two districts."""

    permit: str  # baddistrict: began 30 days ago, open all year
    permit_later: str  # baddistrict: its requests open on January 15 of a later year
    current: str  # badwithin: began 30 days ago, the current-year window (IX.A) is open
    next: str  # badwithin: the next-year window (VIII.A) is open
    later: str  # badwithin: no window is open yet


def interdistrict_toml(today: date) -> tuple[str, str, str]:
    """``baddistrict``: the e2e district, and a school year three years on."""
    text = district_toml(today).replace('id = "testdistrict"', 'id = "baddistrict"', 1)
    later = _year(today.year + 3)
    text += ('\n[[staff]]\nname = "county"\nemail = "appeals@county.example.org"\n'
             'roles = ["county_office"]\n')
    text += (f'\n[calendar."{later}"]\nfirst_day = {date(today.year + 3, 8, 12)}\n'
             f"last_day = {date(today.year + 4, 6, 1)}\n")
    return text, _year(today.year), later


def within_toml(today: date) -> tuple[str, Years]:
    """``badwithin``: Millard's schools and staff. School began 30 days ago and its
    current-year window closes in 30 days; the next year's window opened on January 1 and
    closes the day before school begins next year; a year three on has no window open."""
    first_day = today - timedelta(days=30)
    if (first_day.month, first_day.day) == (1, 1):
        first_day -= timedelta(days=1)
    start = first_day.year
    closes = first_day - timedelta(days=1)
    ends = today + timedelta(days=30)
    settings_ = {
        "next_year_opens_month": 1, "next_year_opens_day": 1,
        "next_year_closes_month": closes.month, "next_year_closes_day": min(closes.day, 28),
        "current_year_closes_month": ends.month, "current_year_closes_day": min(ends.day, 28),
    }
    years = [(start, first_day), (start + 1, date(start + 1, 8, 12)),
             (start + 3, date(start + 3, 8, 12))]
    millard = tomllib.loads((SHIPPED_DIR / "millard.toml").read_text())
    lines = [f"{k} = {toml_value(v)}" for k, v in {
        "id": "badwithin", "name": "Bad Input Public Schools", "state": "NE",
        "timezone": "America/Chicago", "contact": "Student Services",
        "notices_from": "student-services@badwithin.example.org",
        "staff_notices_to": ["student-services@badwithin.example.org"],
    }.items()]
    lines += ["", "[within_district]"] + [f"{k} = {toml_value(v)}" for k, v in settings_.items()]
    lines += ["", "[calendar]"] + [
        f'"{_year(y)}" = {{ first_day = {first}, last_day = {first + timedelta(days=280)} }}'
        for y, first in years
    ]
    for table in ("staff", "schools"):
        for row in millard[table]:
            lines += ["", f"[[{table}]]"] + [f"{k} = {toml_value(v)}" for k, v in row.items()]
    for y, _ in years[:2]:
        lines += ["", "[[open_seats]]", f'school_year = "{_year(y)}"',
                  'school = "norris-elementary"', 'program = "montessori"', "grade = 1",
                  "seats = 5"]
    return "\n".join(lines) + "\n", Years(
        permit="", permit_later="", current=_year(start), next=_year(start + 1),
        later=_year(start + 3),
    )


def permit_form(years: Years, student_id: str, **fields: Any) -> dict[str, Any]:
    """An interdistrict request out of ``baddistrict`` for a move (one document: a lease)."""
    form = json.loads((EXAMPLES / "request-out.json").read_text())
    form.update(district="baddistrict", school_year=years.permit, reason="moving")
    form["student"]["id"] = student_id
    form.update(fields)
    return form


def within_form(years: Years, student_id: str, year: str | None = None, **fields: Any
                ) -> dict[str, Any]:
    """A within-district request of ``badwithin`` (no recommendation needed)."""
    form = json.loads((EXAMPLES / "within-request.json").read_text())
    form.update(district="badwithin", school_year=year or years.current)
    form["student"].update(id=student_id, special_education=False)
    form.update(fields)
    return form


# ---- the stack and the CLI -------------------------------------------------------------------


@functools.cache
def _command(typer_app: typer.Typer) -> Any:
    return typer.main.get_command(typer_app)


def cli(*args: str) -> Result:
    """`transfers ARGS` in this process. The click command is built once, not on every call
    as the runner would (80 ms each): the corpus and the random files run a thousand."""
    with mock.patch.object(typer.testing, "_get_command", _command):
        return runner.invoke(app, list(args))


def ok(result: Result) -> Any:
    assert result.exit_code == 0, (result.exit_code, result.stdout, result.stderr)
    return json.loads(result.stdout) if result.stdout.lstrip().startswith(("{", "[")) else None


@dataclass
class World:
    """The running stack, the CLI's environment (this process's), and the requests the
    corpus acts on, by name."""

    tmp: Path
    env: dict[str, str]
    years: Years
    engine: Engine
    ids: dict[str, str] = field(default_factory=dict)

    @property
    def documents(self) -> Path:
        return Path(self.env["TRANSFERS_DATA_DIR"]) / "documents"

    def state_of(self, request_id: str) -> dict[str, Any]:
        result = cli("show", request_id, "--json")
        assert result.exit_code == 0, result.stderr
        return json.loads(result.stdout)

    def wait_for(self, request_id: str, stage: str, seconds: float = CEILING) -> None:
        shown: list[Result] = []

        def there() -> bool:
            shown[:] = [cli("show", request_id, "--json")]
            return shown[0].exit_code == 0 and json.loads(shown[0].stdout)["stage"] == stage

        until(f"{request_id} to reach {stage}", there, seconds, every=0.2,
              detail=lambda: shown[0].stdout if shown else "")

    def submit(self, name: str, form: dict[str, Any], actor: str, stage: str) -> str:
        path = self.tmp / f"{name}.json"
        path.write_text(json.dumps(form))
        request_id = ok(cli("submit", str(path), "--actor", actor, "--json"))["id"]
        self.wait_for(request_id, stage)
        self.ids[name] = request_id
        return request_id


@contextlib.contextmanager
def open_world(tmp: Path) -> Iterator[World]:
    """The stack (dev server, worker, SMTP) with the two districts written in ``tmp``, this
    process's environment pointed at it, and the requests the corpus acts on made and
    settled; torn down on exit."""
    today = datetime.now(PACIFIC).date()
    (tmp / "districts").mkdir()
    permit_text, permit_year, permit_later = interdistrict_toml(today)
    within_text, years = within_toml(datetime.now(CENTRAL).date())
    years = Years(permit=permit_year, permit_later=permit_later, current=years.current,
                  next=years.next, later=years.later)
    (tmp / "districts" / "baddistrict.toml").write_text(permit_text)
    (tmp / "districts" / "badwithin.toml").write_text(within_text)
    with running(tmp, None) as stack, pytest.MonkeyPatch.context() as patch:
        for key in ("TEMPORAL_ADDRESS", "TRANSFERS_DATA_DIR", "TRANSFERS_DISTRICTS_DIR",
                    "TRANSFERS_SMTP_HOST", "TRANSFERS_SMTP_PORT"):
            patch.setenv(key, stack.env[key])
        patch.delenv("TRANSFERS_DATABASE_URL", raising=False)
        engine = engine_for(f"sqlite:///{tmp / 'data' / 'records.sqlite3'}")
        world = World(tmp=tmp, env=stack.env, years=years, engine=engine)
        _requests(world)
        settle(world)
        yield world


def _requests(world: World) -> None:
    """The requests the corpus acts on, one in each stage it needs."""
    y = world.years
    world.submit("open", permit_form(y, "BAD-OPEN"), "clerk", "awaiting_documents")
    lease = world.tmp / "lease.pdf"
    lease.write_bytes(b"%PDF-1.4\n% a lease\n")
    for name in ("review", "denied"):
        request_id = world.submit(name, permit_form(y, f"BAD-{name.upper()}"), "clerk",
                                  "awaiting_documents")
        ok(cli("documents", "add", request_id, "--kind", "escrow_or_lease", str(lease),
               "--actor", "clerk"))
        world.wait_for(request_id, "under_review")
    ok(cli("decide", world.ids["denied"], "--deny", "--reason", "no_space", "--actor",
           "director"))
    world.wait_for(world.ids["denied"], "denied")
    withdrawn = world.submit("withdrawn", permit_form(y, "BAD-WITHDRAWN"), "clerk",
                             "awaiting_documents")
    ok(cli("withdraw", withdrawn, "--actor", "clerk"))
    world.wait_for(withdrawn, "withdrawn")

    world.submit("w_review", within_form(y, "W-REVIEW"), "olsen", "under_review")
    world.submit("w_lottery", within_form(y, "W-LOTTERY", y.next), "olsen", "in_lottery")
    w_withdrawn = world.submit("w_withdrawn", within_form(y, "W-WITHDRAWN"), "olsen",
                               "under_review")
    ok(cli("withdraw", w_withdrawn, "--actor", "olsen"))
    world.wait_for(w_withdrawn, "withdrawn")
    world.ids["lottery"] = f"lottery-badwithin-{y.next}"


# ---- what "nothing changed" means ------------------------------------------------------------


def records_snapshot(engine: Engine) -> dict[str, list[tuple[str, ...]]]:
    """Every row of every table of the records store."""
    tables: dict[str, list[tuple[str, ...]]] = {}
    with engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            rows = connection.execute(select(table)).all()
            tables[table.name] = sorted(tuple(repr(v) for v in row) for row in rows)
    return tables


async def _workflows(names: list[str], ids: dict[str, str]) -> dict[str, Any]:
    from infra.settings import connect
    from workflows.lottery import LotteryWorkflow

    client = await connect()
    found: dict[str, Any] = {
        "workflows": sorted([w.id async for w in client.list_workflows()]),
    }
    for name in names:
        handle = client.get_workflow_handle(ids[name])
        if name == "lottery":
            found[name] = (await handle.query(LotteryWorkflow.result)).model_dump(mode="json")
        else:
            found[name] = await handle.query("status")
        found[f"{name} history"] = (await handle.describe()).history_length
    return found


def snapshot(world: World, touches: tuple[str, ...] = ()) -> dict[str, Any]:
    documents = sorted(str(p.relative_to(world.documents)) for p in world.documents.rglob("*")
                       ) if world.documents.exists() else []
    return {
        "records": records_snapshot(world.engine),
        "documents": documents,
        **asyncio.run(_workflows(list(touches), world.ids)),
    }


def settle(world: World, seconds: float = CEILING) -> None:
    """Wait until the worker has finished what the set-up started: every notice sent and
    the store unchanged for a moment."""
    last: list[Any] = [None]

    def settled() -> bool:
        now = records_snapshot(world.engine)
        pending = [n for n in now.get("notices", []) if "'sent'" not in n]
        unchanged = now == last[0]
        last[0] = now
        return unchanged and not pending

    until("the stack to settle", settled, seconds, every=0.5)


# ---- the corpus: what a case is, and what it must do -----------------------------------------


@dataclass(frozen=True)
class Case:
    """One bad input: the command line (``{name}`` is the id of the world's request of that
    name, ``{file}`` the case's file, ``{year}`` etc. a school year of ``World.years``), the
    file's content (bytes, or a function of the years giving a form or bytes), the words
    the message must hold, and the workflows whose state is compared (by request name)."""

    id: str
    args: tuple[str, ...]
    expect: tuple[str, ...]
    content: bytes | Callable[[Years], Any] | None = None
    suffix: str = ".json"
    touches: tuple[str, ...] = ()
    code: int = 1  # 1: refused; 2: the command line itself is wrong (typer's usage error)


def _with(build: Callable[[Years], dict[str, Any]], change: Callable[[dict[str, Any]], Any]
          ) -> Callable[[Years], dict[str, Any]]:
    def form(years: Years) -> dict[str, Any]:
        data = build(years)
        change(data)
        return data

    return form


def permit(**fields: Any) -> Callable[[Years], dict[str, Any]]:
    return lambda y: permit_form(y, "BAD-NEW", **fields)


def within(**fields: Any) -> Callable[[Years], dict[str, Any]]:
    return lambda y: within_form(y, "W-NEW", **fields)


def student(build: Callable[[Years], dict[str, Any]], **fields: Any
            ) -> Callable[[Years], dict[str, Any]]:
    return _with(build, lambda d: d["student"].update(fields))


EXAMPLE = (EXAMPLES / "request-out.json").read_bytes()
EXAMPLE_TOML = (EXAMPLES / "request-into.toml").read_bytes()
SUBMIT = ("submit", "{file}", "--actor", "clerk")
SUBMIT_WITHIN = ("submit", "{file}", "--actor", "olsen")
DOCUMENT = ("documents", "add", "{open}", "--kind", "escrow_or_lease", "{file}",
            "--actor", "clerk")
TEXT = b"a lease, typed in a text editor\n"
PDF = b"%PDF-1.4\n% a lease\n"
FACTORS = ("--weighed-reasons", "r", "--weighed-time-of-year", "t", "--weighed-capacity", "c",
           "--weighed-program", "p")


def case_args(case: Case, world: World, path: Path) -> list[str]:
    names = {**world.ids, "file": str(path), "tmp": str(world.tmp),
             "next": world.years.next, "current": world.years.current}
    return [arg.format(**names) if "{" in arg and len(arg) < 200 else arg for arg in case.args]


def write_case(case: Case, world: World) -> Path:
    folder = world.tmp / "cases" / case.id
    folder.mkdir(parents=True, exist_ok=True)
    name = "request" if case.args[0] == "submit" else "file"
    path = folder / f"{name}{case.suffix}"
    content = case.content
    if callable(content):
        content = content(world.years)
    if isinstance(content, dict):
        content = json.dumps(content).encode()
    if content == PDF:  # a document of its own: one stored by mistake would show
        content += case.id.encode()
    if content is not None:
        path.write_bytes(content)
    return path


def assert_refused(case: Case, code: int, stderr: str) -> None:
    """The exit status, the words naming the problem, no traceback, no echo of a huge input."""
    assert code == case.code, (code, stderr)
    assert "Traceback" not in stderr
    assert len(stderr) < 5000, stderr[:5000]
    message = " ".join(stderr.replace("│", " ").split())  # typer's usage errors come boxed
    for words in case.expect:
        assert words in message or words in stderr, (words, stderr)


def unique(cases: list[Case]) -> list[Case]:
    """``cases``, once it is checked that no two share an id (the id names the case's
    folder and its test)."""
    assert len({case.id for case in cases}) == len(cases)
    return cases
