"""The signature in Spanish (docs/portal.md "The signature in Spanish"): a Spanish notice is
signed with the district file's ``contact_es``, an English one with its ``contact``; a district
without a Spanish contact, or a request that carries an English contact its file no longer
has, signs in English."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from activities.notices import NoticeActivities, district_contacts, render_notice
from activities.rendering import render
from districts import load_district, load_within_district
from models.notices import Notice, NoticeKind
from store.engine import make_engine
from tests.support.e2e import district_toml
from tests.support.notices import CASES, parse, within_facts

PARAMOUNT_EN = "Pupil Services Department, 562-602-6035"
PARAMOUNT_ES = "Departamento de Servicios Estudiantiles, 562-602-6035"
MILLARD_ES = "Oficina de Servicios Estudiantiles, 402-715-8200"


@pytest.fixture
def notice_engine(tmp_path: Path) -> Engine:
    return make_engine(f"sqlite:///{tmp_path / 'notices.sqlite3'}")


def _notice(language: str, kind: NoticeKind = NoticeKind.receipt, key: str = "K:receipt:0",
            **facts: Any) -> Notice:
    base = within_facts() if kind is NoticeKind.within_receipt else CASES[kind][0]
    return Notice(key=key, request_id="PUSD-2027-0001", kind=kind,
                  sender="pupil-services@paramount.example.org", to=["maria@example.com"],
                  facts={**base, **facts}, language=language)


def test_the_shipped_districts_give_their_contact_in_spanish() -> None:
    paramount, millard = load_district("paramount"), load_within_district("millard")
    assert (paramount.contact, paramount.contact_es) == (PARAMOUNT_EN, PARAMOUNT_ES)
    assert millard.contact_es == MILLARD_ES
    contacts = district_contacts(None)
    assert contacts[(paramount.name, PARAMOUNT_EN)] == {"es": PARAMOUNT_ES}
    assert contacts[(millard.name, millard.contact)] == {"es": MILLARD_ES}


def test_a_spanish_notice_is_signed_in_spanish_and_an_english_one_in_english(
    tmp_path: Path, notice_engine: Engine,
) -> None:
    activities = NoticeActivities(notice_engine, tmp_path / "outbox")
    activities.send_notice(_notice("es", key="K:receipt:es"))
    activities.send_notice(_notice("en", key="K:receipt:en"))
    bodies = {m["Content-Language"]: m.get_content()
              for m in (parse(p.read_bytes()) for p in (tmp_path / "outbox").glob("*.eml"))}
    assert bodies["es"].rstrip().endswith(PARAMOUNT_ES) and PARAMOUNT_EN not in bodies["es"]
    assert bodies["en"].rstrip().endswith(PARAMOUNT_EN) and PARAMOUNT_ES not in bodies["en"]


def test_a_within_district_notice_in_spanish_is_signed_in_spanish() -> None:
    notice = _notice("es-MX", NoticeKind.within_receipt)
    rendered = render_notice(notice, None, district_contacts(None))
    assert rendered.language == "es" and rendered.body.rstrip().endswith(MILLARD_ES)


def test_without_a_spanish_contact_the_english_one_signs(tmp_path: Path) -> None:
    folder = tmp_path / "districts"
    folder.mkdir()
    (folder / "plain.toml").write_text(district_toml(date.today(), "plain", "Plain"))
    toml = district_toml(date.today(), "bilingual", "Bilingual").replace(
        'contact = "Pupil Services"\n',
        'contact = "Pupil Services"\ncontact_es = "Servicios Estudiantiles"\n')
    (folder / "bilingual.toml").write_text(toml)
    contacts = district_contacts(folder)
    plain = _notice("es", district_name="Plain Unified School District", contact="Pupil Services")
    assert render_notice(plain, None, contacts).body.rstrip().endswith("Pupil Services")
    both = _notice("es", district_name="Bilingual Unified School District",
                   contact="Pupil Services")
    assert render_notice(both, None, contacts).body.rstrip().endswith("Servicios Estudiantiles")
    english = _notice("en", district_name="Bilingual Unified School District",
                      contact="Pupil Services")
    assert render_notice(english, None, contacts).body.rstrip().endswith("Pupil Services")


def test_an_english_contact_the_file_no_longer_has_signs_as_the_request_carries_it() -> None:
    """The contact is fixed at submission: its Spanish is the file's only while the file's
    English is still the request's."""
    older = _notice("es", contact="Pupil Services, 562-000-0000")
    rendered = render_notice(older, None, district_contacts(None))
    assert rendered.body.rstrip().endswith("Pupil Services, 562-000-0000")


def test_a_language_without_templates_signs_in_english() -> None:
    rendered = render("receipt", CASES[NoticeKind.receipt][0], "fr", {"es": PARAMOUNT_ES})
    assert rendered.language == "en" and rendered.body.rstrip().endswith(PARAMOUNT_EN)
