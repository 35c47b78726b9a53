"""End to end, within-district (seed 004, Rule 5110.1): the real `transfers` CLI and the real
worker as processes against a real Temporal dev server, notices by SMTP (aiosmtpd).

The district is a copy of Millard's schools and staff whose next-year window closes about a
minute after the test starts. Two hundred paper forms go in with one `transfers submit`
call; the lottery draws on its own at the close; the seat setter may not certify and the
certifier does; the record re-verifies; every parent gets one result notice; a freed seat
goes to the first in line as an offer, which is accepted. While the window is still open, a
second district whose current-year window (IX) is open has a request decided by the
superintendent's designee with the four IX.B factors, then revoked when the student leaves
the special program (IV.A)."""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import time
import tomllib
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from districts import SHIPPED_DIR
from models.lottery_record import LotteryRecord
from store import lotteries, permits, records
from store import notices as notices_store
from store.engine import make_engine
from tests.support.databases import postgres_url, throwaway_schema, with_search_path
from tests.support.e2e import BIN, running, within_district_toml
from tests.support.servers import Inbox
from tests.support.waiting import until

pytestmark = pytest.mark.e2e
TZ = ZoneInfo("America/Chicago")
DISTRICT = "e2edistrict"  # next year: the lottery
CURRENT = "e2ecurrent"  # current year: the superintendent's designee decides (IX)
CLOSE_AFTER = 120  # seconds from the start of the test to the window's close (CI is loaded)
FORMS = 200
# (school, program, grade, seats): fewer seats than applicants everywhere.
SEATS = [
    ("norris-elementary", "montessori", 0, 5),
    ("norris-elementary", "montessori", 1, 2),
    ("rockwell-elementary", "montessori", 0, 4),
    ("cody-elementary", "core", 3, 4),
    ("abbott-elementary", "regular", 0, 3),
    ("bryan-elementary", "regular", 1, 3),
    ("north-middle", "ib", 6, 8),
    ("north-high", "ib", 9, 8),
    ("south-high", "regular", 9, 6),
]
ELEMENTARY = ["abbott-elementary", "bell-elementary", "cather-elementary", "elk-ridge-elementary",
              "morton-elementary", "reeder-elementary", "sandoz-elementary"]
MIDDLE = ["andersen-middle", "beadle-middle", "kiewit-middle", "russell-middle"]
HIGH = ["north-high", "south-high", "west-high"]
RESULT_SUBJECTS = {  # the start of each result notice's subject (activities/templates)
    "placed": "Within-district transfer approved for",
    "waitlisted": "on the waitlist",
    "denied": "Within-district transfer denied for",
}


# ---- the district and the forms -----------------------------------------------------------


def district_toml(district_id: str, year: str, first_day: date, settings: dict[str, Any]) -> str:
    """Millard's schools and staff, the seats of SEATS for ``year`` and ``settings``."""
    millard = tomllib.loads((SHIPPED_DIR / "millard.toml").read_text())
    head = {
        "id": district_id, "name": "E2E Public Schools", "state": "NE", "timezone": str(TZ),
        "contact": millard["contact"], "notices_from": "student-services@e2e.example.org",
        "staff_notices_to": ["student-services@e2e.example.org"],
    }
    return within_district_toml(
        head, settings, year, first_day, SEATS, overcrowded=("elk-ridge-elementary", "west-high")
    )


def next_year_district(closes: datetime) -> tuple[str, str]:
    """The next-year window (VIII.A) is open now and closes at ``closes`` (local), online
    too: these tests wait for a real clock's close, so the draw comes then, not at the end
    of the day (the two closes of VIII.A.2 are tested on the time-skipping server:
    tests/workflows/test_within_request.py). The school year starts in the close's calendar
    year. The file and the school year."""
    year = f"{closes.year}-{closes.year + 1}"
    notify = closes.date() + timedelta(days=5)
    settings = {
        "next_year_opens_month": 1, "next_year_opens_day": 1,  # of the year before: open now
        "next_year_closes_month": closes.month, "next_year_closes_day": closes.day,
        "next_year_closes_time": closes.time().replace(microsecond=0),
        "notify_by_month": notify.month, "notify_by_day": notify.day,
        "offer_accept_days": 10, "online_until_end_of_day": False,
    }
    first_day = closes.date() + timedelta(days=60)
    return district_toml(DISTRICT, year, first_day, settings), year


def current_year_district(today: date) -> tuple[str, str]:
    """School began 30 days ago; the current-year window (IX.A) closes in 30 days, and the
    next-year window closed the day before school began."""
    first_day = today - timedelta(days=30)
    if (first_day.month, first_day.day) == (1, 1):
        first_day -= timedelta(days=1)  # the next-year window closes in the same year
    closed = first_day - timedelta(days=1)
    ends = today + timedelta(days=30)
    settings = {
        "next_year_opens_month": 1, "next_year_opens_day": 1,
        "next_year_closes_month": closed.month, "next_year_closes_day": closed.day,
        "current_year_closes_month": ends.month, "current_year_closes_day": ends.day,
    }
    year = f"{first_day.year}-{first_day.year + 1}"
    return district_toml(CURRENT, year, first_day, settings), year


def form(n: int, year: str, district: str = DISTRICT) -> dict[str, Any]:
    """A paper form that passes intake: residencies, programs, grades, current and home
    schools vary; some are resident siblings, some relieve an overcrowded school (X.B)."""
    school, program, grade, _ = SEATS[n % len(SEATS)]
    special = program != "regular"
    level = ELEMENTARY if grade <= 5 else HIGH if grade >= 9 else MIDDLE
    if grade == 6:
        level = ELEMENTARY  # moving up from elementary school
    others = [s for s in level if s != school]
    residency = ["other_resident", "option_enrollment", "attendance_area", "other_resident"][
        (n // len(SEATS)) % 4
    ]
    if residency == "attendance_area" and not special:
        residency = "other_resident"  # their own school's regular program needs no transfer
    home = school if residency == "attendance_area" else others[n % len(others)]
    current = others[(n // 3) % len(others)] if n % 4 == 0 else home
    if current == school and not special:
        current = others[0]
    student: dict[str, Any] = {
        "id": f"E2E{n:04d}", "first_name": f"Student{n}", "last_name": "Endtoend",
        "grade": grade, "residency": residency, "home_school": home, "current_school": current,
    }
    if n == 0:
        student["extensive_disciplinary_record"] = True  # III.A
    if n == 1:
        student["special_education"] = True  # III.C
    return {
        "district": district, "school_year": year, "student": student,
        "parent": {"name": f"Parent {n}", "email": f"parent{n}@example.org",
                   "relationship": "natural_parent"},
        "school": school, "program": program,
        "resident_sibling": residency == "other_resident" and n % 7 == 3,
        "reasons": "closer to a parent's work",
    }


# ---- the stack ----------------------------------------------------------------------------


class Stack:
    def __init__(self, env: dict[str, str], inbox: Inbox, tmp: Path, engine: Engine) -> None:
        self.env, self.inbox, self.tmp, self.engine = env, inbox, tmp, engine

    def run(self, *args: str, check: bool = True, timeout: float = 60
            ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(BIN / "transfers"), *args], env=self.env, capture_output=True, text=True,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"transfers {' '.join(args)} failed: {result.stderr}")
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "--json").stdout)

    def refused(self, *args: str) -> str:
        result = self.run(*args, check=False)
        assert result.returncode == 1, (args, result.stdout, result.stderr)
        return result.stderr

    def stage(self, request_id: str) -> str | None:
        state = records.get_request(self.engine, request_id)
        return state.stage.value if state is not None else None

    def subjects(self, request_id: str) -> list[str]:
        return [s for s in map(subject, list(self.inbox.messages)) if f"({request_id})" in s]


def subject(message: Any) -> str:
    """The Subject as one line (a long header is folded in transit)."""
    return re.sub(r"\s+", " ", str(message["Subject"])).strip()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("within-e2e")
    (tmp / "districts").mkdir()
    with contextlib.ExitStack() as cleanup:
        url = None
        if base := postgres_url():
            # A schema of its own, so nothing of another run (or test module) is in the way.
            url = with_search_path(base, cleanup.enter_context(throwaway_schema("e2e_within")))
        engine = make_engine(url or f"sqlite:///{tmp / 'data' / 'records.sqlite3'}")
        cleanup.callback(engine.dispose)
        with running(tmp, url, persisted=False) as stack_:
            yield Stack(stack_.env, stack_.inbox, tmp, engine)


# ---- the test -----------------------------------------------------------------------------


def test_a_batch_the_draw_at_the_close_certification_notices_and_an_offer(stack: Stack) -> None:
    closes = datetime.now(TZ).replace(microsecond=0) + timedelta(seconds=CLOSE_AFTER)
    text, year = next_year_district(closes)
    (stack.tmp / "districts" / f"{DISTRICT}.toml").write_text(text)
    forms = stack.tmp / "forms"
    forms.mkdir()
    files = []
    for n in range(FORMS):
        path = forms / f"form-{n:03d}.json"
        path.write_text(json.dumps(form(n, year)))
        files.append(path)
        if n == FORMS // 2:  # a refused form in the middle of the batch
            bad = form(999, year) | {"school": "nowhere-elementary"}
            (forms / "refused.json").write_text(json.dumps(bad))
            files.append(forms / "refused.json")

    # ---- one call submits the whole batch, in order ----
    started = time.monotonic()
    result = stack.run("submit", *map(str, files), "--actor", "olsen", "--json", check=False,
                       timeout=CLOSE_AFTER)
    took = time.monotonic() - started
    left = (closes - datetime.now(TZ)).total_seconds()
    assert left > 40, f"submitting {FORMS} forms took {took:.0f}s: too slow for CLOSE_AFTER"
    assert result.returncode == 1, result.stderr
    assert "refused.json: school: unknown school 'nowhere-elementary'" in result.stderr
    assert f"1 of {FORMS + 1} forms refused" in result.stderr
    listed = json.loads(result.stdout)
    assert [Path(e["file"]).name for e in listed] == [f.name for f in files]
    ids = [e["id"] for e in listed if "id" in e]
    assert len(ids) == len(set(ids)) == FORMS
    lottery = f"lottery-{DISTRICT}-{year}"
    assert {e.get("lottery_id") for e in listed if "id" in e} == {lottery}
    assert {e.get("kind") for e in listed if "id" in e} == {"next_year"}
    flagged_against, flagged_for = ids[0], ids[1]

    # ---- before the close: recommendations, a practice run, nothing certifiable ----
    until("the recommendations to be asked for", lambda: stack.stage(flagged_against)
          == stack.stage(flagged_for) == "awaiting_recommendation", 20)
    assert "needs director_special_education" in stack.refused(
        "recommend", flagged_for, "--kind", "special_education", "--for", "--reasoning", "ok",
        "--actor", "kowalski")
    against = stack.json("recommend", flagged_against, "--kind", "discipline", "--against",
                         "--reasoning", "not in the best interests of the school",
                         "--actor", "kowalski")
    assert against["stage"] == "denied"
    approved = stack.json("recommend", flagged_for, "--kind", "special_education", "--for",
                          "--reasoning", "the IEP can be served there", "--actor", "rivera")
    assert approved["stage"] == "in_lottery" and approved["pending_recommendations"] == []

    before = stack.json("lottery", "show", DISTRICT, year)  # from the workflow: not stored
    assert before["stage"] == "collecting" and before["result"] is None
    practice = stack.json("lottery", "run", DISTRICT, year)
    assert practice["practice"] is True
    assert len(practice["result"]["entries"]) == len(practice["applicants"])
    human = stack.run("lottery", "run", DISTRICT, year).stdout
    assert "PRACTICE RUN" in human and "nothing was changed" in human
    assert lotteries.get_lottery(stack.engine, lottery) is None  # the practice changed nothing
    assert "the draw has not run yet" in stack.refused(
        "lottery", "certify", DISTRICT, year, "--actor", "tran")
    assert "no drawn record" in stack.refused("lottery", "verify", DISTRICT, year)
    assert datetime.now(TZ) < closes, "the checks before the close ran past it: raise CLOSE_AFTER"

    # ---- meanwhile, a current-year request (IX): the designee weighs IX.B, then IV.A ----
    text, current_year = current_year_district(datetime.now(TZ).date())
    (stack.tmp / "districts" / f"{CURRENT}.toml").write_text(text)
    paper = stack.tmp / "current.json"
    paper.write_text(json.dumps(form(9, current_year, CURRENT)))  # Montessori K at Norris
    submitted = stack.json("submit", str(paper), "--actor", "tran")
    assert submitted["kind"] == "current_year" and submitted["lottery_id"] is None
    current = submitted["id"]
    until("the designee's review", lambda: stack.stage(current) == "under_review", 20)
    assert "missing: --weighed-capacity, --weighed-program" in stack.refused(
        "decide", current, "--approve", "--actor", "kowalski", "--weighed-reasons", "work",
        "--weighed-time-of-year", "early in the year")
    weighed = ["--weighed-reasons", "closer to a parent's work",
               "--weighed-time-of-year", "a month into the year",
               "--weighed-capacity", "two seats open, staffed", "--weighed-program",
               "the Montessori program suits the student"]
    assert "needs superintendent_designee" in stack.refused(
        "decide", current, "--approve", "--actor", "olsen", *weighed)
    placed = stack.json("decide", current, "--approve", "--actor", "kowalski", *weighed)
    assert placed["stage"] == "placed" and placed["decided_by"] == "kowalski"
    assert placed["factors"]["capacity_and_staffing"] == "two seats open, staffed"
    permit = placed["permit_id"]
    until("the placement's permit", lambda: permits.get_permit(stack.engine, permit), 20)
    revoked = stack.json("leave-program", current, "--actor", "olsen")
    assert revoked["stage"] == "revoked" and revoked["school"] != "norris-elementary"

    # ---- the draw happens on its own at the close ----
    wait = (closes - datetime.now(TZ)).total_seconds() + 30
    drawn: LotteryRecord = until(
        "the draw", lambda: (r := lotteries.get_lottery(stack.engine, lottery)) and r.result and r,
        wait, every=0.5)
    assert drawn.drawn_at is not None and drawn.drawn_at >= closes
    assert drawn.stage.value == "preview" and not drawn.certified
    assert drawn.result is not None
    in_draw = {e.applicant.application_id for e in drawn.applicants}
    assert in_draw == set(ids) - {flagged_against}  # denied on recommendation: withdrawn
    assert [e.applicant.application_id for e in drawn.withdrawn] == [flagged_against]
    outcomes = {e.application_id: e for e in drawn.result.entries}
    assert Counter(e.outcome.value for e in outcomes.values()) == {
        "placed": sum(s[3] for s in SEATS), "waitlisted": FORMS - 1 - sum(s[3] for s in SEATS)
    }
    assert any(e.overcrowding_relief for e in outcomes.values())
    assert {e.tier for e in outcomes.values()} >= {"1", "2a", "2b", "2c", "3a", "3b"}

    # ---- four eyes: the seat setter may not certify; the certifier does ----
    assert "olsen set the seats and may not also certify the draw" in stack.refused(
        "lottery", "certify", DISTRICT, year, "--actor", "olsen")
    # Paper forms received before the close may come in for paper_entry_days more: the
    # certifier says every one is in (docs/lottery.md "Paper forms after the close").
    assert "paper forms received before the close may be entered until" in stack.refused(
        "lottery", "certify", DISTRICT, year, "--actor", "tran")
    certified = stack.json("lottery", "certify", DISTRICT, year, "--actor", "tran",
                           "--all-paper-entered")
    assert certified["certified_by"] == "tran" and certified["applications"] == FORMS - 1
    verified = stack.run("lottery", "verify", DISTRICT, year)
    assert verified.stdout.strip() == f"verified: {FORMS - 1} applications, same result"

    # ---- every request ends as the record says, with one result notice each ----
    expected = {a: e.outcome.value for a, e in outcomes.items()} | {flagged_against: "denied"}

    def settled() -> bool:
        rows = records.list_requests(stack.engine, district=DISTRICT)
        return len(rows) == FORMS and all(r.stage == expected[r.id] for r in rows)

    until("every request to take its result", settled, 120, every=0.5)

    def result_notices() -> dict[str, list[str]]:
        found: dict[str, list[str]] = {i: [] for i in ids}
        for m in list(stack.inbox.messages):
            line = subject(m)
            request_id = line.rsplit("(", 1)[-1].rstrip(")")
            if request_id in found and any(s in line for s in RESULT_SUBJECTS.values()):
                found[request_id].append(line)
        return found

    until("a result notice per request",
          lambda: all(result_notices().values()), 30, every=0.5)
    # A notice is recorded before it is sent: once every notice the store holds for these
    # requests is sent, and the inbox has exactly those, no second one is on its way.
    def delivered() -> bool:
        rows = [n for i in ids for n in notices_store.list_notices(stack.engine, i)]
        mine = [m for m in list(stack.inbox.messages)
                if subject(m).rsplit("(", 1)[-1].rstrip(")") in ids]
        return all(n.status == "sent" for n in rows) and len(mine) == len(rows)

    until("every notice of the requests to be recorded sent and delivered once", delivered, 60,
          every=0.5)
    notices = result_notices()
    for request_id, subjects in notices.items():
        assert len(subjects) == 1, (request_id, subjects)
        assert RESULT_SUBJECTS[expected[request_id]] in subjects[0], (request_id, subjects)
        entry = outcomes.get(request_id)
        if entry is not None and entry.outcome.value == "waitlisted":
            assert f"is number {entry.waitlist_position} on the waitlist" in subjects[0]
    receipts = Counter(s.rsplit("(", 1)[-1].rstrip(")") for s in map(subject, stack.inbox.messages)
                       if s.startswith("We received your within-district") and DISTRICT in s)
    assert set(receipts) == set(ids) and set(receipts.values()) == {1}
    message_ids = Counter(m["Message-ID"] for m in stack.inbox.messages)
    assert set(message_ids.values()) == {1}

    # ---- the exported record verifies anywhere ----
    shown = stack.run("lottery", "show", DISTRICT, year, "--json").stdout
    exported = stack.tmp / "lottery.json"
    exported.write_text(shown)
    record = LotteryRecord.model_validate_json(shown)
    assert record.certified and record.certified_by == "tran" and record.stage.value == "certified"
    assert stack.run("lottery", "verify", "--file", str(exported)).stdout.startswith("verified: ")
    human = stack.run("lottery", "show", DISTRICT, year).stdout
    assert record.seed in human and "ledger" in human

    # ---- a waitlisted request's position comes from the lottery ----
    key = next(line.key for line in record.waitlists if len(line.application_ids) >= 2)
    first, second = next(line.application_ids for line in record.waitlists if line.key == key)[:2]
    state = stack.json("show", second)
    assert state["stage"] == "waitlisted" and state["waitlist_position"] == 2
    assert state["waitlist_position_source"] == "lottery"

    # ---- a placement given up goes to the first in line, who accepts ----
    holder = next(e.application_id for e in record.result.entries
                  if e.seat_key == key and e.outcome.value == "placed")
    assert "its permit" in stack.refused("withdraw", holder, "--actor", "olsen")
    holder_permit = f"PERMIT-{holder}"
    until("the holder's permit", lambda: permits.get_permit(stack.engine, holder_permit), 20)
    ended = stack.json("permit", "transfer", holder_permit, "--school", "Another school",
                       "--actor", "olsen")
    assert ended["stage"] == "transferred"
    until("the offer to the first in line", lambda: stack.stage(first) == "offered", 20)
    offered = stack.json("show", first)
    assert offered["offer_deadline"] is not None
    until("the offer notice", lambda: any(s.startswith("A seat is offered to")
                                          for s in stack.subjects(first)), 20)
    moved_up = stack.json("show", second)
    assert moved_up["waitlist_position"] == 1 and moved_up["waitlist_position_source"] == "lottery"
    assert "has no open offer" in stack.refused("offers", "decline", second, "--actor", "tran")
    accepted = stack.json("offers", "accept", first, "--actor", "tran")
    assert accepted["answer"] == "accepted" and accepted["application_id"] == first
    until("the placement", lambda: stack.stage(first) == "placed", 20)
    until("the placement notice", lambda: sum(
        s.startswith("Within-district transfer approved") for s in stack.subjects(first)) == 1, 20)
    ledger = until("the ledger in the store", lambda: (
        r := lotteries.get_lottery(stack.engine, lottery)) and first in r.holders and r, 20)
    assert holder not in ledger.holders and ledger.offers == []
    assert len(ledger.holders) == sum(s[3] for s in SEATS)


def test_a_paper_form_through_the_cli_counts_from_its_receipt(stack: Stack) -> None:
    """`submit --received-at --received-by` on a real server (docs/cross-cutting.md "Paper
    forms"): the request counts as received when the form was, and its record says who
    received it and when it was entered; one past its entry period is refused, nothing
    started."""
    text, year = current_year_district(datetime.now(TZ).date())
    (stack.tmp / "districts" / f"{CURRENT}.toml").write_text(text)
    n = 9 + 4 * len(SEATS)  # Montessori K at Norris, as the current-year request above
    path = stack.tmp / "paper.json"
    path.write_text(json.dumps(form(n, year, CURRENT)))
    received = (datetime.now(TZ) - timedelta(days=1)).replace(hour=16, minute=50, second=0,
                                                              microsecond=0)
    late = received - timedelta(days=3)  # the shipped paper_entry_days: 3
    assert "had to be entered by the end of" in stack.refused(
        "submit", str(path), "--actor", "olsen", "--received-at",
        late.strftime("%Y-%m-%d %H:%M"), "--received-by", "tran")
    submitted = stack.json("submit", str(path), "--actor", "olsen", "--received-at",
                           received.strftime("%Y-%m-%d %H:%M"), "--received-by", "tran")
    assert submitted["kind"] == "current_year"
    state = until("its record", lambda: records.get_request(stack.engine, submitted["id"]), 20)
    assert state.received_at == received and state.received_by == "tran"
    assert state.entered_at is not None and state.entered_at > received
    entry = records.get_history(stack.engine, submitted["id"])[0]
    assert "paper form received" in entry.reason and "by tran" in entry.reason
