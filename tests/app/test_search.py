"""app/search.py: a request found by the student's name or id, the parent's name or address,
its id or its permit's; case and accents ignored; the person's own district only; bad
search text refused with what is wrong with it."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from app.errors import Refused
from app.principal import Principal
from app.search import find
from models.stages import Stage
from models.within_request import WithinStage
from tests.support.app_store import app_store, write
from tests.support.read_models import interdistrict, within, within_request

__all__ = ["app_store"]  # the fixture

NGUYEN = Principal("nguyen", "code:nguyen@paramount.example.org", "nguyen@paramount.example.org")
TRAN = Principal("tran", "code:tran@millard.example.org", "tran@millard.example.org")
JOSE = "paramount-2027-2028-out-t0001"
JOSEPH = "paramount-2027-2028-out-t0002"
CLOSED = "paramount-2027-2028-out-t0003"
MILLARD = "millard-2027-2028-within-t0001"


def seed(engine: Engine) -> None:
    write(engine, interdistrict(Stage.under_review, JOSE, request={
        "student": {"id": "PUSD-4471", "first_name": "José", "last_name": "García Núñez"},
        "parent": {"name": "Ángela García", "email": "Angela.Garcia@Example.com"}}))
    write(engine, interdistrict(Stage.awaiting_documents, JOSEPH, request={
        "student": {"id": "PUSD-9", "first_name": "Joaquin", "last_name": "Smith"},
        "parent": {"name": "Pat Smith", "email": "pat@example.com"}}))
    write(engine, interdistrict(Stage.approved, CLOSED, permit_id=f"PERMIT-{CLOSED}", request={
        "student": {"id": "PUSD-100", "first_name": "Zoë", "last_name": "Smith"},
        "parent": {"name": "Pat Smith", "email": "pat@example.com"}}))
    write(engine, within(WithinStage.in_lottery, MILLARD, request=within_request(
        student_id="MPS-1", first="José", last="Garcia", parent="Ana Garcia",
        email="ana@example.org")))


def ids(text: str, who: Principal = NGUYEN) -> list[str]:
    return [f.id for f in find(who, text)]


@pytest.mark.parametrize("text", [
    "jose", "JOSE", "José", "garcia", "GARCÍA", "nunez", "garcia jose", "jose garcia nunez",
    "pusd-4471", "angela", "angela.garcia@example.com", "ANGELA.GARCIA@EXAMPLE.COM", JOSE,
    "t0001",
])
def test_each_way_to_find_jose(app_store: Engine, text: str) -> None:
    seed(app_store)
    assert ids(text) == [JOSE]


def test_a_word_of_several_names_finds_each_open_first(app_store: Engine) -> None:
    seed(app_store)
    assert ids("smith") == [JOSEPH, CLOSED]  # the open one first
    assert ids("pat@example.com") == [JOSEPH, CLOSED]
    assert ids("zoe") == [CLOSED]


def test_a_permit_id_finds_its_request(app_store: Engine) -> None:
    seed(app_store)
    (found,) = find(NGUYEN, f"PERMIT-{CLOSED}")
    assert (found.id, found.stage, found.is_open, found.student_name) == (
        CLOSED, "approved", False, "Zoë Smith")


def test_only_the_persons_own_district(app_store: Engine) -> None:
    seed(app_store)
    assert ids("garcia") == [JOSE]
    assert ids("garcia", TRAN) == [MILLARD]
    assert ids("MPS-1") == [] and ids("PUSD-4471", TRAN) == []


def test_a_word_is_found_inside_longer_ones(app_store: Engine) -> None:
    """Part of a name or an id is enough: "jose" finds Joseph too, "4471" the student id."""
    seed(app_store)
    joseph = "paramount-2027-2028-out-t0004"
    write(app_store, interdistrict(Stage.awaiting_documents, joseph, request={
        "student": {"id": "PUSD-12", "first_name": "Joseph", "last_name": "Brown"}}))
    assert set(ids("jose")) == {JOSE, joseph}
    assert ids("4471") == [JOSE]


def test_nothing_found_is_an_empty_answer(app_store: Engine) -> None:
    seed(app_store)
    assert ids("nobody") == [] and ids("jose smith") == []


@pytest.mark.parametrize("text", ["%", "_", "jos_", "\\"])
def test_wildcards_are_taken_as_they_are(app_store: Engine, text: str) -> None:
    seed(app_store)
    assert ids(text) == []


@pytest.mark.parametrize(("text", "message"), [
    ("", "nothing to search for"),
    ("   ", "nothing to search for"),
    ("jose\x00", "control characters"),
    ("jose\ngarcia", "control characters"),
    ("jose\u200b", "control characters"),
    ("j" * 201, "201 characters long: at most 200"),
    ("a b c d e f g h i", "9 words: at most 8"),
])
def test_bad_search_text_is_refused(app_store: Engine, text: str, message: str) -> None:
    seed(app_store)
    with pytest.raises(Refused, match=message):
        find(NGUYEN, text)
