"""Request files that are not request files, wrong types, unknown districts, schools,
programs, grades and values, and huge text fields: each refused by `transfers`, naming the
problem, and nothing changed."""

from __future__ import annotations

import pytest

from tests.support.bad_input import (
    EXAMPLE,
    EXAMPLE_TOML,
    FACTORS,
    MB,
    SUBMIT,
    SUBMIT_WITHIN,
    Case,
    World,
    _with,
    installed_command_refuses,
    permit,
    refused_and_unchanged,
    student,
    unique,
    within,
)

CASES = unique([
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
])


@pytest.mark.e2e
@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_is_refused_and_changes_nothing(world: World, case: Case) -> None:
    refused_and_unchanged(world, case)


@pytest.mark.e2e
@pytest.mark.parametrize("case_id", ["deeply-nested-json"])
def test_the_installed_command_refuses_the_same(world: World, case_id: str) -> None:
    """A case of the corpus through `.venv/bin/transfers` as its own process."""
    installed_command_refuses(world, next(case for case in CASES if case.id == case_id))
