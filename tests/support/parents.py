"""Families for the parent portal's tests: requests of two families written to the records store
as a worker would (one family's of both processes, with deadlines, missing documents, notices
to the parent and to staff), a guardian linked by the roster, and a parent signed in through
the portal's own forms with the code the outbox received."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app import context
from models.documents import DocumentKind
from models.stages import Stage
from models.within_request import WithinStage
from store import notices, records
from store.schema import RosterLinkRow, RosterPersonRow
from tests.support.console import portal_client, token
from tests.support.read_models import interdistrict, within, within_request
from tests.support.signin import code_in, outbox_messages
from tests.support.waiting import until
from web.i18n import today_in

MARIA = "maria@example.com"  # tests/support/factories.py's parent
OTHER = "other.family@example.org"
GUARDIAN = "Abuela.Rosa@Example.net"  # in the roster only, as it writes it
DOCUMENTS_ID = "paramount-2027-2028-out-fam1"  # Maria's, awaiting documents
DENIED_ID = "paramount-2027-2028-out-fam2"  # Maria's, denied
WAITLISTED_ID = "millard-2027-2028-within-fam3"  # Maria's, within the district
THEIRS_ID = "paramount-2027-2028-out-fam4"  # another family's
ROSTER_ID = "millard-2027-2028-within-fam5"  # the roster's grandmother's grandson's
MISSING_ID = "paramount-2027-2028-out-fam9"  # no such request
RECEIPT = "Your request was received; send the lease by the due day."
STAFF_ONLY = "Escalation: the decision is overdue"
OFFER = "A seat at the school is offered to Tomas; answer by the last day."


def later(days: int, zone: str = "America/Los_Angeles") -> date:
    """A day ``days`` ahead of today in the district's zone (the days left counted from it)."""
    return today_in(zone) + timedelta(days=days)


def write_families() -> None:
    engine = context.engine()
    states = [
        interdistrict(Stage.awaiting_documents, DOCUMENTS_ID, seq=2,
                      missing_documents=[DocumentKind.escrow_or_lease],
                      documents_due=later(10)),
        interdistrict(Stage.denied, DENIED_ID, seq=3, appeal_deadline=later(25),
                      request={"student": {"id": "S1002", "first_name": "Luis"}}),
        within(WithinStage.waitlisted, WAITLISTED_ID, seq=2, waitlist_position=4,
               request=within_request(student_id="M-77", first="Pablo", last="Lopez",
                                      parent="Maria Lopez", email=MARIA)),
        interdistrict(Stage.under_review, THEIRS_ID, seq=2, decision_due=later(20),
                      request={"student": {"id": "S2001", "first_name": "Zed",
                                           "last_name": "Other"},
                               "parent": {"name": "Olga Other", "email": OTHER}}),
        within(WithinStage.offered, ROSTER_ID, seq=2, offer_deadline=later(3, "America/Chicago"),
               request=within_request(student_id="M-88", first="Tomas", last="Rivera",
                                      parent="Ana Rivera", email="ana.rivera@example.org")),
    ]
    for state in states:
        records.record_events(engine, state, state.history)
    notices.record(engine, f"{DOCUMENTS_ID}:receipt:1", DOCUMENTS_ID, "receipt", [MARIA],
                   "Request received", RECEIPT)
    notices.mark_sent(engine, f"{DOCUMENTS_ID}:receipt:1")
    notices.record(engine, f"{DOCUMENTS_ID}:escalation:1", DOCUMENTS_ID, "escalation",
                   ["pupil-services@paramount.example.org"], STAFF_ONLY, "Staff only.")
    notices.record(engine, f"{ROSTER_ID}:offer:1", ROSTER_ID, "offer",
                   ["ana.rivera@example.org"], "A seat is offered", OFFER)
    notices.mark_sent(engine, f"{ROSTER_ID}:offer:1")
    notices.record(engine, f"{ROSTER_ID}:escalation:1", ROSTER_ID, "escalation",
                   ["student-services@millard.example.org"], STAFF_ONLY, "Staff only.")
    _roster_guardian(engine)


def _roster_guardian(engine: Engine) -> None:
    """Millard's roster: a grandmother with her own address, linked to Tomas (M-88)."""
    now = datetime.now(UTC)
    common = {"district": "millard", "grade": None, "school_year": "2027-2028",
              "school_id": None, "home_school_id": None, "attendance_area": None,
              "active": True, "updated_at": now}
    with Session(engine) as session, session.begin():
        session.add(RosterPersonRow(sourced_id="g-rosa", kind="guardian", role="relative",
                                    identifier="", given_name="Rosa", family_name="Rivera",
                                    email=GUARDIAN, email_key=GUARDIAN.lower(), **common))
        session.add(RosterPersonRow(sourced_id="s-tomas", kind="student", role="student",
                                    identifier="M-88", given_name="Tomas",
                                    family_name="Rivera", email=None, email_key=None,
                                    **common))
        session.add(RosterLinkRow(district="millard", student="s-tomas", guardian="g-rosa",
                                  **_link_fields(now)))


def _link_fields(now: datetime) -> dict[str, object]:
    columns = RosterLinkRow.__table__.columns.keys()
    return {name: value for name, value in (("active", True), ("updated_at", now))
            if name in columns}


def ask_code(http: TestClient, address: str) -> str:
    """The code page's text, after asking for a code for ``address``."""
    form = token(http.get("/signin").text)
    sent = http.post("/signin/code", data={"csrf": form, "email": address, "next": "/"})
    assert sent.status_code == 200, sent.text
    return sent.text


def verify(http: TestClient, page: str, address: str, code: str) -> Response:
    return http.post("/signin/verify", data={"csrf": token(page), "email": address,
                                             "code": code, "next": "/requests"})


def newest_code(address: str, after: int = 0) -> str:
    """The newest code the outbox holds for ``address`` once it holds more than ``after``
    of them (the portal mails a code after it answers)."""
    outbox = context.settings().outbox_dir

    def found() -> str | None:
        messages = [m for m in outbox_messages(outbox) if m["To"] == address]
        return code_in(messages, address) if len(messages) > after else None

    return until(f"a sign-in code for {address}", found, every=0.05)


def sign_in_parent(http: TestClient, address: str) -> None:
    page = ask_code(http, address)
    done = verify(http, page, address, newest_code(address.lower()))
    assert done.status_code == 303, done.text


def not_found_alike(path: str, theirs_id: str) -> str:
    """Signed in as Maria, ``path`` (a format with ``{id}``) for another family's request and
    for one that does not exist: both 404, the same page but for the id. Their page's text."""
    with portal_client() as http:
        sign_in_parent(http, MARIA)
        theirs = http.get(path.format(id=theirs_id))
        missing = http.get(path.format(id=MISSING_ID))
    assert theirs.status_code == missing.status_code == 404
    assert theirs.text.replace(theirs_id, "X") == missing.text.replace(MISSING_ID, "X")
    return theirs.text
