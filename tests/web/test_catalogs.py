"""Every string the console shows goes through the catalogs: each message extracted from the
templates and the code (web.catalogs.template) is in the template
and translated in Spanish and English, with the same placeholders."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.pofile import read_po

from web.catalogs import template
from web.i18n import LANGUAGES, LOCALE_DIR, translations

PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


def _extracted() -> set[str | tuple[str, ...]]:
    return {m.id if isinstance(m.id, str) else tuple(m.id) for m in template() if m.id}


def _catalog(path: Path):  # noqa: ANN202 - babel's Catalog
    with path.open("rb") as source:
        return read_po(source)


def test_every_message_is_in_the_template_and_translated() -> None:
    extracted = _extracted()
    assert len(extracted) > 100  # the extraction found the pages' words
    template = {m.id if isinstance(m.id, str) else tuple(m.id)
                for m in _catalog(LOCALE_DIR / "messages.pot") if m.id}
    assert extracted == template, "web/locale/messages.pot is stale: extract it again"
    for language in LANGUAGES:
        catalog = _catalog(LOCALE_DIR / language / "LC_MESSAGES" / "messages.po")
        for message_id in extracted:
            message = catalog.get(message_id if isinstance(message_id, str) else message_id[0])
            assert message is not None, f"{language}: {message_id!r} missing"
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            source = message_id if isinstance(message_id, str) else message_id[0]
            for text in strings:
                assert text, f"{language}: {message_id!r} untranslated"
                assert set(PLACEHOLDER.findall(text)) == set(PLACEHOLDER.findall(source)), (
                    f"{language}: {message_id!r} has other placeholders: {text!r}")


def test_the_catalogs_load_without_a_build_step() -> None:
    assert translations("es").gettext("Sign in") == "Iniciar sesión"
    assert translations("es").ngettext("%(num)d day left", "%(num)d days left", 2) \
        == "Quedan %(num)d días"
