"""Actions on closed requests and on requests not at that stage, by the wrong staff member,
for reasons not in the list, and on unknown requests or with unknown options: each refused
by `transfers`, naming the problem, and nothing changed."""

from __future__ import annotations

import pytest

from tests.support.bad_input import (
    FACTORS,
    PDF,
    SUBMIT,
    Case,
    World,
    installed_command_refuses,
    permit,
    refused_and_unchanged,
    unique,
    within,
)

CASES = unique([
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
])


@pytest.mark.e2e
@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_is_refused_and_changes_nothing(world: World, case: Case) -> None:
    refused_and_unchanged(world, case)


@pytest.mark.e2e
@pytest.mark.parametrize("case_id", ["unknown-option"])
def test_the_installed_command_refuses_the_same(world: World, case_id: str) -> None:
    """A case of the corpus through `.venv/bin/transfers` as its own process."""
    installed_command_refuses(world, next(case for case in CASES if case.id == case_id))
