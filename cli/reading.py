"""What the reading commands print (`transfers list`, `show`, `find`; docs/cross-cutting.md
"Worklist and search"): the student's name, every deadline with its days left, instants in
the district's time zone, and lines that fit 80 columns (a request is two lines: its id and
student, then where it stands)."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import typer

from app import worklist
from app.errors import Refused
from app.permits import PERMIT_PREFIX
from app.staff_districts import district_today
from cli.common import emit, principal, say
from models.state import RequestState
from models.within_request import WithinRequestState

WIDTH = 80


def fit(text: str, width: int = WIDTH) -> str:
    """``text`` cut to ``width`` columns, with an ellipsis where it was cut."""
    return text if len(text) <= width else text[: width - 1] + "…"


def days(days_left: int | None) -> str:
    if days_left is None:
        return "no date set"
    if days_left == 0:
        return "last day today"
    if days_left > 0:
        return f"{days_left} day{'s' if days_left != 1 else ''} left"
    return f"{-days_left} day{'s' if days_left != -1 else ''} overdue"


def deadline_text(kind: str, due: date | None, days_left: int | None) -> str:
    """"decision 2027-03-10, 3 days left"; "recommendation, no date set"."""
    return f"{kind} {due.isoformat()}, {days(days_left)}" if due else f"{kind}, {days(None)}"


def local_time(instant: datetime, zone: str) -> str:
    """An instant as the district's clocks read it: "2027-03-01 09:00 PST"."""
    return instant.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M %Z")


def line(text: str) -> None:
    """A line of output wrapped at 80 columns, the lines it continues on indented."""
    for part in textwrap.wrap(text, WIDTH, subsequent_indent="    ", break_on_hyphens=False,
                              break_long_words=True) or [""]:
        say(part)


def two_lines(first: str, student: str, second: Sequence[str]) -> list[str]:
    """A request's two lines: its id and student, then where it stands."""
    return [fit(f"{first}  {student}"), fit("  " + "  ".join(part for part in second if part))]


def echo(lines: list[str]) -> None:
    """Many lines at once, as they are: Rich styles each line it prints, which took a third
    of a second for the 2,000 lines of a 1,000-request list."""
    typer.echo("\n".join(lines))


# ---- show -----------------------------------------------------------------------------


def refuse_a_permit_id(request_id: str) -> None:
    """`show` of a permit's id says where a permit is shown (exit 1)."""
    if request_id.startswith(PERMIT_PREFIX):
        raise Refused(f"{request_id} is a permit, not a request: use `transfers permit show "
                      f"{request_id}`")


def deadlines_json(state: RequestState | WithinRequestState) -> list[dict[str, Any]]:
    return [d.as_json() for d in worklist.request_deadlines(state)]


def print_people_and_deadlines(state: RequestState | WithinRequestState) -> None:
    """The student and the parent, then every deadline the request waits on."""
    request = state.request
    student = request.student
    line(f"student: {student.full_name} ({student.id})")
    line(f"parent: {request.parent.name} <{request.parent.email}>")
    if isinstance(state, RequestState):  # a within request's state says it itself
        from cli.roster import roster_lines

        for said in roster_lines(request.roster):
            line(said)
    for due in worklist.request_deadlines(state):
        line(f"due: {deadline_text(due.kind.value, due.due, due.days_left)}; waits on "
            f"{due.waits_on.value.replace('_', ' ')}")


def print_history(state: RequestState | WithinRequestState) -> None:
    """The audit trail, an entry a line (its reason on the lines after, indented), its
    instants in the district's time zone."""
    say("history:")
    for h in state.history:
        line(f"{h.seq:>3}  {local_time(h.at, state.timezone)}  {h.stage.value}  {h.event}  "
             f"{h.actor}")
        if h.reason:
            for part in textwrap.wrap(h.reason, WIDTH - 6) or [""]:
                say(f"      {part}")


# ---- list -----------------------------------------------------------------------------


def list_json(rows: Sequence[Any]) -> list[dict[str, Any]]:
    todays = {d: district_today(d) for d in {r.district for r in rows}}
    return [
        {"id": r.id, "district": r.district, "direction": r.direction,
         "school_year": r.school_year, "stage": r.stage, "overdue": r.overdue,
         "decision_due": r.decision_due, "appeal_deadline": r.appeal_deadline,
         "student_name": r.student_name, "school": r.school,
         "next_deadline": None if r.next_kind is None else {
             "kind": r.next_kind, "due": r.next_due, "waits_on": r.next_waits_on,
             "days_left": None if r.next_due is None else (r.next_due - todays[r.district]).days,
         }}
        for r in rows
    ]


def print_list(data: list[dict[str, Any]]) -> None:
    if not data:
        say("no requests")
        return
    lines = []
    for r in data:
        nxt = r["next_deadline"]
        due = "" if nxt is None else "next: " + deadline_text(nxt["kind"], nxt["due"],
                                                             nxt["days_left"])
        lines += two_lines(r["id"], r["student_name"], [r["stage"], due, r["school_year"],
                                                        r["direction"]])
    echo(lines)


# ---- find -----------------------------------------------------------------------------


def find(text: str, actor: str, as_json: bool) -> None:
    """`transfers find`: requests of the person's district(s), open ones first."""
    from app import search  # here: `transfers show` and `list` start without it

    found = search.find(principal(actor), text)
    todays = {d: district_today(d) for d in {f.district for f in found}}
    data = [
        {"id": f.id, "district": f.district, "process": f.process, "stage": f.stage,
         "is_open": f.is_open, "school_year": f.school_year, "student_name": f.student_name,
         "student_id": f.student_id, "school": f.school,
         "next_deadline": None if f.next_kind is None else {
             "kind": f.next_kind, "due": f.next_due,
             "days_left": None if f.next_due is None else (f.next_due - todays[f.district]).days,
         }}
        for f in found
    ]

    def human() -> None:
        if not data:
            say(f"nothing found for {text!r}")
            return
        lines = []
        for f in data:
            nxt = f["next_deadline"]
            due = "" if nxt is None else "next: " + deadline_text(nxt["kind"], nxt["due"],
                                                                 nxt["days_left"])
            lines += two_lines(f["id"], f"{f['student_name']} ({f['student_id']})",
                               [f["stage"], due, f["school_year"], f["process"]])
        echo(lines)

    emit(as_json, data, human)
