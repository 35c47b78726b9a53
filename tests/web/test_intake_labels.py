"""Intake's refusals in the parent's language (docs/portal.md "Intake's messages in the
parent's language"): every message the apply forms can show is in the catalog of patterns
(`web/intake_labels.py`) with its Spanish, found two ways: every refusal written in the code
the forms run (read from the source, so a new one fails here until it has its Spanish), and
every refusal of the forms' fields (made by sending each field bad values). Intake's English
does not change; a message the catalog lacks is shown in English."""

from __future__ import annotations

import ast
import copy
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from app.applications import CHOOSE_STUDENT, NOT_YOURS, field_errors
from intake.forms import validate_form
from intake.interdistrict import parse_request
from models.within_district import Program, SeatKey
from models.within_request import WithinRequest
from rules.errors import PolicyError
from web.i18n import Speaker
from web.intake_labels import MESSAGES, said, unmatched

ROOT = Path(__file__).resolve().parents[2]
SPANISH = Speaker("es")

# The code the apply forms run (app/applications.py's apply_*), by module and function (None:
# all of the module): every refusal written there is one the forms can show. Left out, as no
# form of the portal reaches them: a paper form's receipt, a batch of files, the district
# file's own checks, staff rosters and roles (a parent's proof may submit: rules/roles.py),
# the roster's own field (the form never sends it), appeals, revocation and endorsements.
REACHED: dict[str, tuple[str, ...] | None] = {
    "intake/interdistrict.py": ("policy_for", "prepare"),
    "intake/within.py": ("window_for", "prepare_within", "seat_setters"),
    "rules/eligibility.py": ("check_requester", "school_year_start", "check_submission_date"),
    "rules/within_eligibility.py": None,
    "rules/tiers.py": None,
    "rules/within_windows.py": ("kind_in", "check_receipt"),
    "rules/agreements.py": ("agreement_for", "check_reapplication"),
    "app/submissions.py": ("_claimed", "start_request"),
    "app/context.py": ("engine", "client", "district", "within_district"),
    "districts/__init__.py": ("load_config",),
    "workflows/lottery.py": ("_check_enter", "_check_paper"),
    "workflows/interdistrict_permit.py": ("_check_admitted",),
    "workflows/within_request.py": ("_check_admitted",),
}
RAISING = {"PolicyError", "Refused", "refuse", "NoTransferNeeded", "UnknownDistrictError"}


def _sample(node: ast.expr) -> str | None:
    """The message an f-string makes, each value a stand-in (``v1``, ``v2``...); None for a
    message that is not written there (``str(error)``: its own origin is checked)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        parts = [v.value if isinstance(v, ast.Constant) else f"v{n}"
                 for n, v in enumerate(node.values)]
        return "".join(str(p) for p in parts)
    return None


def _functions(tree: ast.Module, names: tuple[str, ...] | None) -> Iterator[ast.AST]:
    if names is None:
        yield tree
        return
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name in names:
            yield node


def written_refusals() -> list[tuple[str, str]]:
    found = []
    for path, names in REACHED.items():
        tree = ast.parse((ROOT / path).read_text())
        functions = list(_functions(tree, names))
        assert names is None or {f.name for f in functions} == set(names), path  # type: ignore[attr-defined]
        for function in functions:
            for node in ast.walk(function):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                        and node.func.id in RAISING and node.args:
                    message = _sample(node.args[0])
                    if message is not None:
                        found.append((f"{path}:{node.lineno}", message))
    return found


def test_every_refusal_the_forms_code_writes_is_in_the_catalog() -> None:
    found = written_refusals()
    assert len(found) > 40  # the scan reads what it should
    missing = [(where, message) for where, message in found if unmatched(message)]
    assert not missing, f"no pattern in web/intake_labels.py for: {missing}"


def test_every_message_of_the_catalog_has_its_spanish() -> None:
    untranslated = [m for m in MESSAGES if SPANISH.catalog.gettext(m) == m]
    assert not untranslated


# ---- the forms' fields, sent bad values ------------------------------------------------

INTERDISTRICT: dict[str, Any] = {
    "district": "testdistrict",
    "student": {"id": "S1", "first_name": "Ana", "last_name": "Ruiz", "grade": 3,
                "has_iep_or_504": False},
    "parent": {"name": "Eva Ruiz", "email": "eva@example.org",
               "relationship": "natural_parent", "language": "es"},
    "direction": "into", "reason": "child_care", "school_year": "2027-2028",
    "other_district": "Downey Unified", "self_employed": False, "details": "",
}
WITHIN: dict[str, Any] = {
    "district": "millard", "school_year": "2027-2028",
    "student": {"id": "S1", "first_name": "Ana", "last_name": "Ruiz", "grade": 3,
                "residency": "attendance_area", "home_school": "a", "current_school": "a"},
    "parent": INTERDISTRICT["parent"], "school": "b", "program": "regular",
    "resident_sibling": False, "reasons": "",
}
# What a form field may bring: nothing, blanks, too much, control and invisible characters,
# a line break, words where a number or a choice belongs, numbers out of range.
BAD = ["", "   ", "x" * 5000, "a\x07b", "a\u202eb", "a\u200bb", "a\nb", "abc", "-1", "99",
       "2027", "27-28", "bogus", "no@", "@", "a@b@c"]


def _leaves(form: dict[str, Any], at: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for key, value in form.items():
        if isinstance(value, dict):
            yield from _leaves(value, (*at, key))
        else:
            yield (*at, key)


def _variants(form: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for path in _leaves(form):
        for value in [*BAD, None]:
            changed = copy.deepcopy(form)
            holder = changed
            for key in path[:-1]:
                holder = holder[key]
            if value is None:
                del holder[path[-1]]
            else:
                holder[path[-1]] = value
            yield changed


def field_refusals() -> set[str]:
    found: set[str] = set()
    checks = [(parse_request, v) for v in _variants(INTERDISTRICT)]
    checks += [(lambda f, s: validate_form(WithinRequest, f, s), v) for v in _variants(WITHIN)]
    for check, form in checks:
        try:
            check(form, "the form")
        except PolicyError as error:
            found.update(field_errors(str(error)).values())
    return found


def test_every_refusal_of_the_forms_fields_is_in_the_catalog() -> None:
    found = field_refusals()
    assert len(found) > 20
    missing = {part for message in found for part in unmatched(message)}
    assert not missing, f"no pattern in web/intake_labels.py for: {sorted(missing)}"
    for message in found:  # in Spanish: no English sentence of pydantic's left
        spanish = said(message, SPANISH)
        for english in ("Field required", "Input should", "String should", "Value error"):
            assert english not in spanish, spanish


@pytest.mark.parametrize("message", [CHOOSE_STUDENT, NOT_YOURS])
def test_the_application_layers_own_refusals_are_in_the_catalog(message: str) -> None:
    assert not unmatched(message) and said(message, SPANISH) != message


def test_a_seat_is_said_in_spanish_inside_a_refusal() -> None:
    for grade, words in ((0, "kínder del programa"), (4, "grado 4 del programa")):
        seat = SeatKey(school="ackerman", program=Program.regular, grade=grade).describe()
        message = f"{seat} is not open to within-district transfers (VII)"
        assert said(message, SPANISH) == (
            f"{words} regular en ackerman no está abierto a traslados dentro del distrito (VII)")


def test_spanish_keeps_the_field_the_values_and_each_part() -> None:
    message = ("the form is invalid: student.first_name: Value error, contains U+0007 "
               "(a control character), which is not allowed; direction: Input should be "
               "'into' or 'out'")
    errors = field_errors(message)
    assert said(errors["student.first_name"], SPANISH) == (
        "student.first_name: contiene U+0007 (un carácter de control), que no se permite")
    assert said(errors["direction"], SPANISH) == "direction: Debe ser 'into' o 'out'"
    window = ("applications for 2027-2028 closed at 2027-02-15T17:00:00-06:00 (VIII.A.2); "
              "it reopens at 2027-05-01T00:00:00-05:00 (VIII.A.3)")
    assert said(window, SPANISH) == (
        "las solicitudes para 2027-2028 se cerraron el 2027-02-15T17:00:00-06:00 (VIII.A.2); "
        "vuelven a abrirse el 2027-05-01T00:00:00-05:00 (VIII.A.3)")


def test_english_is_intakes_own_and_an_unknown_message_stays_english() -> None:
    message = "student.grade: Input should be less than or equal to 12"
    assert said(message, Speaker("en")) == message
    unknown = "a refusal nobody has put in the catalog yet"
    assert said(unknown, SPANISH) == unknown and unmatched(unknown) == [unknown]
    mixed = f"{unknown}; Field required"
    assert said(mixed, SPANISH) == f"{unknown}; Falta este dato"


def test_the_in_person_close_is_said_in_spanish() -> None:
    """VIII.A.2's two closes, as the rules word them at 5:00 p.m. and after midnight."""
    from datetime import date
    from zoneinfo import ZoneInfo

    from models.within_district_config import WithinDistrictSettings
    from rules.within_windows import window_kind

    def refusal(hour: int, day: int) -> str:
        with pytest.raises(PolicyError) as caught:
            window_kind(WithinDistrictSettings(), "2027-2028", date(2027, 8, 12),
                        "America/Chicago",
                        datetime(2027, 2, day, hour, tzinfo=ZoneInfo("America/Chicago")),
                        in_person=True)
        return str(caught.value)

    at_five = said(refusal(17, 15), SPANISH)
    assert at_five.startswith("las solicitudes entregadas en persona para 2027-2028 se cerraron")
    assert "las solicitudes en línea se aceptan hasta el 2027-02-16T00:00:00-06:00" in at_five
    after = said(refusal(1, 16), SPANISH)
    assert "(las entregadas en persona, hasta el 2027-02-15T17:00:00-06:00)" in after
    assert unmatched(refusal(17, 15)) == [] and unmatched(refusal(1, 16)) == []
