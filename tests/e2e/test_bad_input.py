"""Bad input: a corpus of malformed, wrong, impossible and hostile inputs through the
`transfers` CLI (typer's CliRunner on ``starter.app``, as the other CLI tests) and through
Updates sent straight to the workflows, against one real stack (the Temporal dev server, a
worker process, SMTP on loopback) shared by the module.

Every case must exit non-zero with a message that names the problem, print no traceback,
and change nothing: the records store (every row of every table), the stored documents, the
set of workflows and the state of the workflows it touched are compared before and after.

Two districts are written for the run, with dates relative to today so the module keeps
working: ``baddistrict`` (interdistrict permits; its current school year began 30 days ago, a
later one does not take requests yet) and ``badwithin`` (within-district, Millard's schools
and staff: the current-year window (IX) and the next year's window (VIII.A) are open, a later
year's are not).

The last test feeds random request files (random JSON and TOML values, random bytes,
mutations of the examples) to `transfers submit` and requires a refusal or a submission,
never a crash."""

from __future__ import annotations

import asyncio
import functools
import json
import subprocess
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
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select
from typer.testing import CliRunner, Result

from cli.main import app
from districts import SHIPPED_DIR
from store.engine import engine_for
from store.schema import Base
from tests.support.e2e import BIN, district_toml, running, toml_value
from tests.support.paths import ROOT
from tests.support.ports import closed_port
from tests.support.waiting import CEILING, until

EXAMPLES = ROOT / "examples"
runner = CliRunner()
CENTRAL = ZoneInfo("America/Chicago")
PACIFIC = ZoneInfo("America/Los_Angeles")
MB = 1024 * 1024


# ---- the districts --------------------------------------------------------------------------


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


# ---- the stack and the CLI ------------------------------------------------------------------


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


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("bad-input")
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


# ---- the corpus ------------------------------------------------------------------------------


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

CORPUS = [
    # -- request files that are not request files
    Case("malformed-json", SUBMIT, ("malformed", "Expecting"), b'{"district": "baddistrict",}'),
    Case("truncated-json", SUBMIT, ("malformed",), EXAMPLE[: len(EXAMPLE) // 2]),
    Case("malformed-toml", SUBMIT, ("malformed",), b"district = baddistrict\n", ".toml"),
    Case("truncated-toml", SUBMIT, ("malformed",), EXAMPLE_TOML[:-30], ".toml"),
    Case("empty-json", SUBMIT, ("malformed",), b""),
    Case("empty-toml", SUBMIT, ("is invalid", "district: Field required"), b"", ".toml"),
    Case("binary-garbage", SUBMIT, ("cannot read request file",),
         bytes(range(256)) * 4 + b"\xff\xfe\x00"),
    Case("utf16-file", SUBMIT, ("cannot read request file",), EXAMPLE.decode().encode("utf-16")),
    Case("json-array", SUBMIT, ("must be an object",), b'[{"district": "baddistrict"}]'),
    Case("json-null", SUBMIT, ("must be an object",), b"null"),
    Case("missing-file", ("submit", "{tmp}/no-such-form.json", "--actor", "clerk"),
         ("cannot read request file", "no-such-form.json")),
    Case("directory-as-file", ("submit", "{tmp}", "--actor", "clerk"),
         ("cannot read request file",)),
    # -- wrong types
    Case("grade-as-word", SUBMIT, ("student.grade", "valid integer"),
         student(permit(), grade="ten")),
    Case("school-year-as-number", SUBMIT, ("school_year", "valid string"),
         permit(school_year=2026)),
    Case("school-year-as-toml-date", SUBMIT, ("school_year", "valid string"),
         b'district = "baddistrict"\nschool_year = 2026-08-12\n', ".toml"),
    Case("student-as-string", SUBMIT, ("student", "valid dictionary"), permit(student="Ana")),
    Case("parent-missing", SUBMIT, ("parent", "Field required"),
         _with(permit(), lambda d: d.pop("parent"))),
    Case("within-flag-as-string", SUBMIT_WITHIN, ("student.special_education", "valid boolean"),
         student(within(), special_education="maybe")),
    # -- unknown districts, schools, programs, grades and values
    Case("unknown-district", SUBMIT, ("unknown district 'atlantis'",),
         permit(district="atlantis")),
    Case("district-path-trick", SUBMIT, ("unknown district",),
         permit(district="../../etc/passwd")),
    Case("unknown-preferred-school", SUBMIT, ("unknown school 'nowhere-high'",),
         permit(preferred_school="nowhere-high")),
    Case("unknown-direction", SUBMIT, ("direction", "'into' or 'out'"),
         permit(direction="sideways")),
    Case("unknown-reason", SUBMIT, ("reason", "Input should be"), permit(reason="boredom")),
    Case("misspelled-optional-field", SUBMIT, ("preffered_school: not a field of the form",),
         _with(permit(), lambda d: d.update(preffered_school="gaines"))),
    Case("within-misspelled-student-field", SUBMIT_WITHIN,
         ("student.english_learners: not a field of the form",),
         student(within(), english_learners=True)),
    Case("grade-13", SUBMIT, ("student.grade", "less than or equal to 12"),
         student(permit(), grade=13)),
    Case("grade-minus-1", SUBMIT, ("student.grade", "greater than or equal to 0"),
         student(permit(), grade=-1)),
    Case("grandparent-requests", SUBMIT, ("relationship 'grandparent'", "EC 46600.1"),
         _with(permit(), lambda d: d["parent"].update(relationship="grandparent"))),
    Case("bad-email", SUBMIT, ("parent.email", "email"),
         _with(permit(), lambda d: d["parent"].update(email="maria at example"))),
    Case("student-id-path-trick", SUBMIT, ("student.id", "pattern"),
         student(permit(), id="../../etc/passwd")),
    Case("within-unknown-school", SUBMIT_WITHIN, ("unknown school 'nowhere-elementary'",),
         within(school="nowhere-elementary")),
    Case("within-unknown-program", SUBMIT_WITHIN, ("program", "Input should be"),
         within(program="ballet")),
    Case("within-program-not-offered", SUBMIT_WITHIN, ("has no ib program",),
         within(program="ib")),
    Case("within-grade-not-at-school", SUBMIT_WITHIN, ("has no grade 9",),
         student(within(), grade=9)),
    Case("within-unknown-residency", SUBMIT_WITHIN, ("student.residency", "Input should be"),
         student(within(), residency="the moon")),
    # -- impossible dates and years
    Case("impossible-date-in-toml", SUBMIT, ("malformed",),
         b'district = "baddistrict"\nschool_year = 2027-02-30\n', ".toml"),
    Case("school-year-not-consecutive", SUBMIT, ("must be two consecutive years",),
         permit(school_year="2026-2030")),
    Case("school-year-year-zero", SUBMIT, ("school year",), permit(school_year="0000-0001")),
    Case("school-year-not-in-calendar", SUBMIT, ("not in baddistrict's calendar",),
         permit(school_year="2099-2100")),
    Case("appeal-filed-on-impossible-date",
         ("appeal", "{denied}", "--filed-on", "2027-02-30", "--actor", "clerk"),
         ("--filed-on", "'2027-02-30' is not a date"), touches=("denied",)),
    Case("appeal-filed-in-the-future",
         ("appeal", "{denied}", "--filed-on", "2999-01-01", "--actor", "clerk"),
         ("cannot be filed in the future",), touches=("denied",)),
    Case("appeal-filed-before-the-denial",
         ("appeal", "{denied}", "--filed-on", "2000-01-01", "--actor", "clerk"),
         ("cannot be filed before the denial",), touches=("denied",)),
    Case("list-due-before-impossible-date", ("list", "--due-before", "2027-13-01"),
         ("--due-before", "is not a date")),
    Case("leave-program-not-placed",
         ("leave-program", "{w_review}", "--actor", "olsen"),
         ("not a placement",), touches=("w_review",)),
    # -- a request before its window, and twice
    Case("before-the-window", SUBMIT, ("requests for school year", "open on"),
         lambda y: permit_form(y, "BAD-EARLY", school_year=y.permit_later)),
    Case("within-before-the-window", SUBMIT_WITHIN, ("no window for", "is open"),
         lambda y: within_form(y, "W-EARLY", y.later)),
    Case("duplicate-request", SUBMIT, ("already has an open request",),
         lambda y: permit_form(y, "BAD-OPEN")),
    Case("within-duplicate-request", SUBMIT_WITHIN, ("already has an open within-district",
                                                     "VI.C"),
         lambda y: within_form(y, "W-REVIEW")),
    Case("within-duplicate-other-year", SUBMIT_WITHIN, ("already has an open within-district",),
         lambda y: within_form(y, "W-LOTTERY")),
    # -- actions on closed requests, and on requests not at that stage
    Case("decide-after-withdraw", ("decide", "{withdrawn}", "--approve", "--actor", "director"),
         ("closed", "withdrawn"), touches=("withdrawn",)),
    Case("withdraw-twice", ("withdraw", "{withdrawn}", "--actor", "clerk"),
         ("closed", "withdrawn"), touches=("withdrawn",)),
    Case("document-on-closed-request",
         ("documents", "add", "{withdrawn}", "--kind", "escrow_or_lease", "{file}", "--actor",
          "clerk"), ("closed",), PDF, ".pdf", touches=("withdrawn",)),
    Case("appeal-a-non-denial", ("appeal", "{review}", "--actor", "clerk"),
         ("cannot file appeal", "under_review"), touches=("review",)),
    Case("appeal-outcome-without-appeal",
         ("appeal", "{denied}", "--outcome", "granted", "--actor", "county"),
         ("cannot record appeal outcome", "denied"), touches=("denied",)),
    Case("decide-before-documents", ("decide", "{open}", "--approve", "--actor", "director"),
         ("awaiting_documents",), touches=("open",)),
    Case("decide-a-denied-request", ("decide", "{denied}", "--approve", "--actor", "director"),
         ("denied",), touches=("denied",)),
    Case("release-on-a-request-out", ("release", "{open}", "--granted", "--actor", "clerk"),
         ("only for requests into the district",), touches=("open",)),
    Case("within-decide-after-withdraw",
         ("decide", "{w_withdrawn}", "--approve", "--actor", "kowalski", *FACTORS),
         ("closed", "withdrawn"), touches=("w_withdrawn",)),
    Case("within-decide-a-lottery-request",
         ("decide", "{w_lottery}", "--approve", "--actor", "kowalski", *FACTORS),
         ("the lottery decides it",), touches=("w_lottery",)),
    Case("within-recommend-not-needed",
         ("recommend", "{w_review}", "--kind", "discipline", "--for", "--reasoning", "fine",
          "--actor", "kowalski"), ("needs no discipline recommendation",),
         touches=("w_review",)),
    Case("offer-without-an-offer", ("offers", "accept", "{w_lottery}", "--actor", "olsen"),
         ("offer",), touches=("w_lottery", "lottery")),
    # -- the wrong staff member
    Case("clerk-decides", ("decide", "{review}", "--approve", "--actor", "clerk"),
         ("clerk (pupil_services) may not decide",), touches=("review",)),
    Case("director-adds-a-document", ("documents", "add", "{open}", "--kind", "escrow_or_lease",
                                      "{file}", "--actor", "director"),
         ("director (director) may not add document",), PDF, ".pdf", touches=("open",)),
    Case("not-a-staff-member", ("decide", "{review}", "--approve", "--actor", "mallory"),
         ("'mallory' is not a staff member of baddistrict",), touches=("review",)),
    Case("within-olsen-decides",
         ("decide", "{w_review}", "--approve", "--actor", "olsen", *FACTORS),
         ("olsen", "may not decide", "superintendent_designee"), touches=("w_review",)),
    Case("seat-setter-certifies", ("lottery", "certify", "badwithin", "{next}", "--actor", "olsen"),
         ("olsen set the seats and may not also certify",), touches=("lottery",)),
    Case("designee-certifies",
         ("lottery", "certify", "badwithin", "{next}", "--actor", "kowalski"),
         ("may not certify the draw", "lottery_certifier"), touches=("lottery",)),
    Case("interdistrict-clerk-submits-within", SUBMIT, ("'clerk' is not a staff member",),
         within()),
    Case("within-designee-submits", ("submit", "{file}", "--actor", "kowalski"),
         ("may not submit", "student_services"), within()),
    # -- reasons not in the list
    Case("deny-for-a-bogus-reason",
         ("decide", "{review}", "--deny", "--reason", "bogus", "--actor", "director"),
         ("--reason", "bogus"), touches=("review",), code=2),
    Case("deny-without-a-reason", ("decide", "{review}", "--deny", "--actor", "director"),
         ("must cite at least one",), touches=("review",)),
    Case("approve-with-a-reason",
         ("decide", "{review}", "--approve", "--reason", "no_space", "--actor", "director"),
         ("an approval takes no denial reasons",), touches=("review",)),
    Case("approve-for-an-unknown-school",
         ("decide", "{review}", "--approve", "--school", "nowhere-high", "--actor", "director"),
         ("unknown school 'nowhere-high'",), touches=("review",)),
    Case("bogus-appeal-outcome",
         ("appeal", "{denied}", "--outcome", "maybe", "--actor", "county"),
         ("--outcome", "maybe"), touches=("denied",), code=2),
    Case("bogus-document-kind",
         ("documents", "add", "{open}", "--kind", "selfie", "{file}", "--actor", "clerk"),
         ("--kind", "selfie"), PDF, ".pdf", touches=("open",), code=2),
    Case("bogus-recommendation-kind",
         ("recommend", "{w_review}", "--kind", "vibes", "--for", "--reasoning", "x",
          "--actor", "kowalski"), ("--kind", "vibes"), touches=("w_review",), code=2),
    Case("blank-reasoning",
         ("recommend", "{w_review}", "--kind", "discipline", "--for", "--reasoning", "   ",
          "--actor", "kowalski"), ("--reasoning",), touches=("w_review",)),
    Case("within-decide-without-factors",
         ("decide", "{w_review}", "--approve", "--actor", "kowalski"),
         ("four IX.B factors", "--weighed-reasons"), touches=("w_review",)),
    Case("bogus-stage", ("list", "--stage", "limbo"), ("unknown stage 'limbo'",)),
    # -- huge text fields
    Case("huge-details", SUBMIT, ("details", "at most 4000 characters"),
         permit(details="x" * MB)),
    Case("huge-within-reasons", SUBMIT_WITHIN, ("reasons", "at most 4000 characters"),
         within(reasons="y" * MB)),
    Case("huge-student-name", SUBMIT, ("student.first_name", "at most 100 characters"),
         student(permit(), first_name="Ana" * 100_000)),
    Case("deeply-nested-json", SUBMIT, ("malformed", "nested too deeply"), b"[" * (5 * MB)),
    Case("deeply-nested-toml", SUBMIT, ("malformed", "nested too deeply"),
         b"district = " + b"[" * 100_000, ".toml"),
    Case("number-of-5000-digits", SUBMIT, ("malformed", "digits"),
         b'{"district": "baddistrict", "student": {"grade": ' + b"9" * 5000 + b"}}"),
    Case("huge-note", ("decide", "{review}", "--approve", "--note", "n" * 100_000, "--actor",
                       "director"), ("note: String should have at most 2000 characters",),
         touches=("review",)),
    Case("huge-withdraw-note", ("withdraw", "{open}", "--note", "w" * 100_000, "--actor",
                                "clerk"), ("note: String should have at most 2000 characters",),
         touches=("open",)),
    Case("huge-extension-reason",
         ("appeal", "{denied}", "--extend", "e" * 100_000, "--actor", "county"),
         ("reason: String should have at most 2000 characters",), touches=("denied",)),
    Case("huge-weighed-factor",
         ("decide", "{w_review}", "--approve", "--actor", "kowalski", "--weighed-reasons",
          "r" * 100_000, *FACTORS[2:]), ("reasons: String should have at most 2000 characters",),
         touches=("w_review",)),
    # -- document names with path tricks
    Case("document-name-dot-dot", (*DOCUMENT, "--name", "../../etc/passwd"),
         ("tries to leave the document store",), PDF, ".pdf", touches=("open",)),
    Case("document-name-absolute", (*DOCUMENT, "--name", "/etc/passwd"),
         ("tries to leave the document store",), PDF, ".pdf", touches=("open",)),
    Case("document-name-backslash", (*DOCUMENT, "--name", "..\\..\\boot.ini"),
         ("tries to leave the document store",), PDF, ".pdf", touches=("open",)),
    Case("document-name-drive", (*DOCUMENT, "--name", "C:lease.pdf"),
         ("tries to leave the document store",), PDF, ".pdf", touches=("open",)),
    Case("document-name-dots", (*DOCUMENT, "--name", ".."),
         ("tries to leave the document store",), PDF, ".pdf", touches=("open",)),
    Case("document-name-control-characters", (*DOCUMENT, "--name", "lease\x00.pdf"),
         ("control characters",), PDF, ".pdf", touches=("open",)),
    Case("document-name-newline", (*DOCUMENT, "--name", "lease.pdf\nBcc: x@example.org"),
         ("control characters",), PDF, ".pdf", touches=("open",)),
    Case("document-name-too-long", (*DOCUMENT, "--name", "a" * 300 + ".pdf"),
         ("1 to 255 characters",), PDF, ".pdf", touches=("open",)),
    Case("document-missing-file",
         ("documents", "add", "{open}", "--kind", "escrow_or_lease", "{tmp}/nothing.pdf",
          "--actor", "clerk"), ("cannot read", "nothing.pdf"), touches=("open",)),
    Case("document-empty", DOCUMENT, ("is empty",), b"", ".pdf", touches=("open",)),
    Case("packet-kinds-and-files-differ",
         ("documents", "add", "{open}", "{file}", "{file}", "--kind", "escrow_or_lease",
          "--actor", "clerk"), ("2 file(s) but 1 --kind",), PDF, ".pdf", touches=("open",)),
    Case("packet-of-too-many-files",
         ("documents", "add", "{open}", *("{file}",) * 21, *("--kind", "escrow_or_lease") * 21,
          "--actor", "clerk"), ("21 files: at most 20",), PDF, ".pdf", touches=("open",)),
    Case("packet-with-a-missing-file",
         ("documents", "add", "{open}", "{file}", "{tmp}/nothing.pdf", "--kind",
          "escrow_or_lease", "--kind", "report_card", "--actor", "clerk"),
         ("cannot read", "nothing.pdf"), PDF, ".pdf", touches=("open",)),
    # -- a document that is not what its name says
    Case("pdf-that-is-text", DOCUMENT, ("is not a PDF",), TEXT, ".pdf", touches=("open",)),
    Case("pdf-that-is-a-png", DOCUMENT, ("is not a PDF",),
         b"\x89PNG\r\n\x1a\n" + bytes(64), ".pdf", touches=("open",)),
    Case("png-that-is-a-pdf", DOCUMENT, ("is not a PNG",), PDF, ".png", touches=("open",)),
    Case("jpeg-that-is-an-executable", DOCUMENT, ("is not a JPEG",),
         b"\x7fELF\x02\x01\x01" + bytes(64), ".jpg", touches=("open",)),
    Case("name-says-pdf-file-is-text", (*DOCUMENT, "--name", "lease.pdf"), ("is not a PDF",),
         TEXT, ".txt", touches=("open",)),
    # -- unknown requests and options
    Case("unknown-request-show", ("show", "nope"), ("no request 'nope'",)),
    Case("unknown-request-decide", ("decide", "nope", "--approve", "--actor", "director"),
         ("no request 'nope'",)),
    Case("request-id-path-trick", ("withdraw", "../../etc/passwd", "--actor", "clerk"),
         ("no request '../../etc/passwd'",)),
    Case("unknown-option", ("submit", "{file}", "--actor", "clerk", "--bogus"),
         ("No such option", "--bogus"), permit(), code=2),
    Case("unknown-command", ("approve-everything",), ("No such command",), code=2),
    Case("missing-actor", ("decide", "{review}", "--approve"), ("Missing option", "--actor"),
         touches=("review",), code=2),
    Case("grade-option-not-a-number",
         ("submit", "--actor", "clerk", "--district", "baddistrict", "--grade", "ten"),
         ("Invalid value for '--grade'", "valid integer"), code=2),
    Case("add-seats-grade-13",
         ("lottery", "add-seats", "badwithin", "{next}", "--school", "norris-elementary",
          "--program", "montessori", "--grade", "13", "--seats", "1", "--actor", "olsen"),
         ("Invalid value for '--grade'", "less than or equal to 12"), touches=("lottery",),
         code=2),
    Case("lottery-record-garbage", ("lottery", "verify", "--file", "{file}"),
         ("is not a lottery record",), b'{"id": 7}'),
    Case("lottery-record-binary", ("lottery", "verify", "--file", "{file}"),
         ("cannot read",), b"\xff\xfe\xfa" * 10, ".json"),
    Case("permit-unknown", ("permit", "show", "PERMIT-nope"), ("PERMIT-nope",)),
    Case("permit-bogus-revocation-reason",
         ("permit", "revoke", "PERMIT-nope", "--reason", "bogus", "--actor", "director"),
         ("bogus",)),
    Case("permit-list-bad-school-year", ("permit", "list", "--school-year", "2026/27"),
         ("--school-year", "2026/27")),
    Case("submit-from-flags-missing-fields",
         ("submit", "--actor", "clerk", "--district", "baddistrict"),
         ("the flags is invalid", "student.first_name")),
]
assert len({case.id for case in CORPUS}) == len(CORPUS)


def _args(case: Case, world: World, path: Path) -> list[str]:
    names = {**world.ids, "file": str(path), "tmp": str(world.tmp),
             "next": world.years.next, "current": world.years.current}
    return [arg.format(**names) if "{" in arg and len(arg) < 200 else arg for arg in case.args]


def _write(case: Case, world: World) -> Path:
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


def _refused(case: Case, code: int, stderr: str) -> None:
    """The exit status, the words naming the problem, no traceback, no echo of a huge input."""
    assert code == case.code, (code, stderr)
    assert "Traceback" not in stderr
    assert len(stderr) < 5000, stderr[:5000]
    message = " ".join(stderr.replace("│", " ").split())  # typer's usage errors come boxed
    for words in case.expect:
        assert words in message or words in stderr, (words, stderr)


@pytest.mark.e2e
@pytest.mark.parametrize("case", CORPUS, ids=[case.id for case in CORPUS])
def test_bad_input_is_refused_and_changes_nothing(world: World, case: Case) -> None:
    path = _write(case, world)
    args = _args(case, world, path)
    before = snapshot(world, case.touches)
    result = cli(*args)
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        "crashed", result.exception, result.stderr
    )
    _refused(case, result.exit_code, result.stderr)
    assert snapshot(world, case.touches) == before


BY_ID = {case.id: case for case in CORPUS}


@pytest.mark.e2e
@pytest.mark.parametrize("case_id", ["deeply-nested-json", "unknown-option", "pdf-that-is-text"])
def test_the_installed_command_refuses_the_same(world: World, case_id: str) -> None:
    """A few of the corpus through `.venv/bin/transfers` as its own process: the exit status
    and the message are the process's, not the test runner's."""
    case = BY_ID[case_id]
    path = _write(case, world)
    before = snapshot(world, case.touches)
    result = subprocess.run([str(BIN / "transfers"), *_args(case, world, path)], env=world.env,
                            capture_output=True, text=True, timeout=60)
    _refused(case, result.returncode, result.stderr)
    assert result.stdout == ""
    assert snapshot(world, case.touches) == before


# ---- Updates sent straight to the workflows ---------------------------------------------------


def _actor(name: str, *roles: str) -> dict[str, Any]:
    return {"name": name, "roles": list(roles)}


DIRECTOR = _actor("director", "director")
CLERK = _actor("clerk", "pupil_services")
SHA = "ab" * 32
DOC = {"actor": CLERK, "kind": "escrow_or_lease", "name": "lease.pdf", "sha256": SHA, "size": 10}
DOC_FILE = {k: v for k, v in DOC.items() if k != "actor"}
WEIGHED = {"reasons": "r", "time_of_year": "t", "capacity_and_staffing": "c",
           "educational_program": "p"}


@dataclass(frozen=True)
class UpdateCase:
    """An Update with a payload the CLI would never send, straight to a workflow (by the
    world's request name); its rejection must name the problem and change nothing."""

    id: str
    target: str
    update: str
    payload: Any
    expect: tuple[str, ...]


UPDATES = [
    UpdateCase("decide-outcome-maybe", "review", "decide",
               {"actor": DIRECTOR, "outcome": "maybe"}, ("outcome",)),
    UpdateCase("decide-bogus-reason", "review", "decide",
               {"actor": DIRECTOR, "outcome": "deny", "reasons": ["bogus"]}, ("reasons",)),
    UpdateCase("decide-huge-note", "review", "decide",
               {"actor": DIRECTOR, "outcome": "approve", "note": "n" * MB}, ("note",)),
    UpdateCase("decide-without-actor", "review", "decide", {"outcome": "approve"}, ("actor",)),
    UpdateCase("decide-nameless-actor", "review", "decide",
               {"actor": _actor("", "director"), "outcome": "approve"}, ("actor.name",)),
    UpdateCase("decide-not-an-object", "review", "decide", "approve", ("Decide",)),
    UpdateCase("decide-by-the-clerk", "review", "decide",
               {"actor": CLERK, "outcome": "approve"}, ("may not decide",)),
    UpdateCase("decide-withdrawn", "withdrawn", "decide",
               {"actor": DIRECTOR, "outcome": "approve"}, ("already completed",)),
    UpdateCase("document-name-dot-dot", "open", "add_document",
               {**DOC, "name": "../../etc/passwd"}, ("tries to leave the document store",)),
    UpdateCase("document-name-nul", "open", "add_document",
               {**DOC, "name": "lease\x00.pdf"}, ("control characters",)),
    UpdateCase("document-bad-hash", "open", "add_document", {**DOC, "sha256": "not-a-hash"},
               ("sha256",)),
    UpdateCase("document-negative-size", "open", "add_document", {**DOC, "size": -1},
               ("size",)),
    UpdateCase("document-unknown-kind", "open", "add_document", {**DOC, "kind": "selfie"},
               ("kind",)),
    UpdateCase("packet-empty", "open", "add_documents", {"actor": CLERK, "documents": []},
               ("documents",)),
    UpdateCase("packet-name-dot-dot", "open", "add_documents",
               {"actor": CLERK, "documents": [DOC_FILE, {**DOC_FILE, "name": "../../etc/passwd"}]},
               ("tries to leave the document store",)),
    UpdateCase("appeal-impossible-date", "denied", "file_appeal",
               {"actor": CLERK, "filed_on": "2027-02-30"}, ("filed_on",)),
    UpdateCase("release-grant-as-word", "open", "record_release",
               {"actor": CLERK, "granted": "perhaps"}, ("granted",)),
    UpdateCase("unknown-update", "review", "approve_everything", {"actor": DIRECTOR},
               ("approve_everything",)),
    UpdateCase("within-decide-empty-factors", "w_review", "decide",
               {"actor": _actor("kowalski", "superintendent_designee"), "approve": True,
                "factors": {**WEIGHED, "reasons": ""}}, ("factors.reasons",)),
    UpdateCase("within-recommend-bogus-kind", "w_review", "recommend",
               {"actor": _actor("kowalski", "superintendent_designee"), "kind": "vibes",
                "recommended": True, "reasoning": "x"}, ("kind",)),
    UpdateCase("certify-without-roles", "lottery", "certify", {"name": "tran"},
               ("may not certify",)),
    UpdateCase("certify-no-name", "lottery", "certify", {"roles": ["lottery_certifier"]},
               ("name",)),
    UpdateCase("add-seats-grade-13", "lottery", "add_seats",
               {"key": {"school": "norris-elementary", "program": "montessori", "grade": 13},
                "seats": 1, "actor": _actor("olsen", "seat_setter")}, ("grade",)),
]


async def _send(world: World, case: UpdateCase) -> str:
    from temporalio.client import WorkflowUpdateFailedError
    from temporalio.service import RPCError

    from infra.settings import connect

    client = await connect()
    handle = client.get_workflow_handle(world.ids[case.target])
    try:
        await handle.execute_update(case.update, case.payload)
    except WorkflowUpdateFailedError as error:
        chain, cause = [], error.cause
        while cause is not None:
            chain.append(str(cause))
            cause = cause.__cause__
        return " / ".join(chain)
    except RPCError as error:
        return error.message
    raise AssertionError(f"{case.id}: the Update was accepted")


@pytest.mark.e2e
@pytest.mark.parametrize("case", UPDATES, ids=[case.id for case in UPDATES])
def test_bad_update_is_rejected_and_changes_nothing(world: World, case: UpdateCase) -> None:
    before = snapshot(world, (case.target,))
    message = asyncio.run(_send(world, case))
    for words in case.expect:
        assert words in message, (words, message)
    assert snapshot(world, (case.target,)) == before


# ---- random request files never crash `transfers submit` -------------------------------------
#
# Without a Temporal server (TEMPORAL_ADDRESS is a closed port) and with an empty records store:
# a form that passes every intake check ends with "cannot reach Temporal" (exit 1), so every
# file goes the whole way through the CLI's parsing and checks, and nothing is started.

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                max_size=4),
    max_leaves=12,
)
FORMS = {
    "request-out.json": json.loads((EXAMPLES / "request-out.json").read_text()),
    "within-request.json": json.loads((EXAMPLES / "within-request.json").read_text()),
    "request-into.toml": tomllib.loads((EXAMPLES / "request-into.toml").read_text()),
}
PLAUSIBLE = [0, 1, 5, 9, 12, 13, -1, True, False, "2025-2026", "2026-2027", "2027-2028",
             "2028-2029", "2099-2100", "paramount", "millard", "into", "out", "keppel",
             "norris-elementary", "abbott-elementary", "north-high", "nowhere", "regular", "ib",
             "core", "montessori", "attendance_area", "non_resident", "option_enrollment",
             "grandparent", "legal_custodian", "moving", "bullying", "sibling", "es", "safety",
             "a@example.org"]
NAMES = ["district", "school_year", "student", "parent", "grade", "id", "direction", "reason",
         "school", "program", "residency", "relationship", "email", "home_school"]


def _paths(value: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path of a form (nested objects and lists)."""
    found: list[tuple[Any, ...]] = []
    items = value.items() if isinstance(value, dict) else (
        enumerate(value) if isinstance(value, list) else ()
    )
    for key, inner in items:
        found.append((*at, key))
        found += _paths(inner, (*at, key))
    return found


@st.composite
def mutated_form(draw: st.DrawFn) -> tuple[str, bytes]:
    """An example form with a few of its fields dropped, retyped or replaced."""
    import copy

    name = draw(st.sampled_from(sorted(FORMS)))
    form = copy.deepcopy(FORMS[name])
    for _ in range(draw(st.integers(1, 2))):
        paths = _paths(form)
        if not paths:
            break
        *parent_path, key = draw(st.sampled_from(paths))
        parent: Any = form
        for step in parent_path:
            parent = parent[step]
        action = draw(st.sampled_from(["drop", "value", "string", "rename", *["plausible"] * 4]))
        if action == "drop" and isinstance(parent, dict):
            del parent[key]
        elif action == "rename" and isinstance(parent, dict):
            parent[draw(st.sampled_from(NAMES))] = parent.pop(key)
        elif action == "plausible":  # a value of the right kind, often not the right one
            parent[key] = draw(st.sampled_from(PLAUSIBLE))
        elif action == "string":
            parent[key] = draw(st.text(max_size=30) | st.sampled_from(
                ["", "2027-02-30", "../../etc/passwd", "x" * 5000, "13", "-1", "paramount",
                 "millard", "into", "out"]))
        else:
            parent[key] = draw(JSON_VALUES)
    return ".json", json.dumps(form).encode()


def _toml_text() -> st.SearchStrategy[str]:
    lines = st.sampled_from(
        ['district = "paramount"', 'district = "millard"', 'school_year = "2026-2027"',
         "school_year = 2026-02-30", "[student]", "grade = 4", 'grade = "ten"', "[parent]",
         'direction = "out"', 'reason = "moving"', "[[student]]", "grade = ", "x = [[[",
         'id = "S1"'],
    ) | st.text(max_size=30)
    return st.lists(lines, max_size=12).map("\n".join)


RANDOM_FILES = st.one_of(
    st.tuples(st.just(".json"), st.binary(max_size=200)),
    st.tuples(st.just(".toml"), st.binary(max_size=200)),
    st.tuples(st.just(".json"), JSON_VALUES.map(lambda v: json.dumps(v).encode())),
    st.tuples(st.just(".json"), st.text(max_size=100).map(str.encode)),
    st.tuples(st.just(".toml"), _toml_text().map(str.encode)),
)


@pytest.fixture(scope="module")
def offline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The CLI's environment without a Temporal server; a folder for the files."""
    tmp = tmp_path_factory.mktemp("random-forms")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TRANSFERS_DATA_DIR", str(tmp / "data"))
        patch.setenv("TEMPORAL_ADDRESS", f"127.0.0.1:{closed_port()}")
        patch.delenv("TRANSFERS_DISTRICTS_DIR", raising=False)
        patch.delenv("TRANSFERS_DATABASE_URL", raising=False)
        yield tmp


def _submit_never_crashes(folder: Path, suffix: str, content: bytes, actor: str) -> None:
    """`transfers submit FILE`: a refusal (exit 1, "error: ..."), a usage error (2) or a
    submission (0), never an exception escaping the CLI."""
    path = folder / f"form{suffix}"
    path.write_bytes(content)
    result = cli("submit", str(path), "--actor", actor)
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        content[:300], repr(result.exception), result.stderr
    )
    assert result.exit_code in {0, 1, 2}, (result.exit_code, result.stderr)
    assert "Traceback" not in result.stdout + result.stderr
    if result.exit_code == 1:
        assert result.stderr.startswith("error: "), result.stderr
    words = result.stderr.replace(str(path), "FILE").split()
    event(" ".join(words[:4]))  # how far the files got (--hypothesis-show-statistics)


ACTORS = st.sampled_from(["avalos", "olsen", "nobody"])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(file=RANDOM_FILES, actor=ACTORS)
def test_random_request_files_never_crash_the_cli(offline: Path, file: tuple[str, bytes],
                                                  actor: str) -> None:
    _submit_never_crashes(offline, *file, actor)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(file=mutated_form(), actor=ACTORS)
def test_mutated_example_forms_never_crash_the_cli(offline: Path, file: tuple[str, bytes],
                                                   actor: str) -> None:
    _submit_never_crashes(offline, *file, actor)
