"""Keeps the pages' catalogs in step with the code (`python -m web.catalogs`): extracts every
message of the templates and ``web/`` into ``messages.pot``, brings each language's ``.po`` up to
it (English says the message itself), and fills Spanish from JSON files of translations
(``--es file.json``, an object of message -> text; a plural's text is a list) or from another
``.po`` (``--es other.po``, e.g. the other side of a merge). Messages still untranslated are
listed and the exit status is 1, so a forgotten translation is seen, not shipped."""

from __future__ import annotations

import argparse
import copy
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
METHODS = [("web/**.py", "python"), ("web/templates/**.html", "jinja2")]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
CREATED = datetime(2026, 11, 30, tzinfo=UTC)
WRITE = {"width": 100, "no_location": True, "sort_output": True, "ignore_obsolete": True}


def template() -> Catalog:
    """Every message the pages say, as pybabel extract -F web/babel.cfg -k N_ finds them."""
    # A fixed creation date: a header that changes on every run would make every merge conflict.
    catalog = Catalog(project="school-transfers", fuzzy=False, creation_date=CREATED)
    for _file, _line, message, comments, context in extract_from_dir(
            str(ROOT), METHODS, keywords=KEYWORDS):
        catalog.add(message, None, auto_comments=comments, context=context)
    return catalog


def _read(path: Path, language: str | None = None) -> Catalog:
    with path.open("rb") as source:
        return read_po(source, locale=language)


def _write(path: Path, catalog: Catalog) -> None:
    with path.open("wb") as target:
        write_po(target, catalog, **WRITE)


def _translations(sources: list[Path]) -> dict[str, str | tuple[str, ...]]:
    found: dict[str, str | tuple[str, ...]] = {}
    for source in sources:
        if source.suffix == ".po":
            for message in _read(source, "es"):
                key = message.id if isinstance(message.id, str) else message.id[0]
                if key and message.string and all(message.string):
                    found[key] = message.string
        else:
            for key, text in json.loads(source.read_text("utf-8")).items():
                found[key] = tuple(text) if isinstance(text, list) else text
    return found


def update(spanish: list[Path]) -> list[str]:
    """Rewrites the template and both catalogs; the Spanish messages left untranslated."""
    pot = template()
    _write(LOCALE_DIR / "messages.pot", pot)
    extra = _translations(spanish)
    missing: list[str] = []
    for language in ("en", "es"):
        path = LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
        catalog = _read(path, language)
        # A copy each: update() adopts the template's new messages themselves, so English
        # filled in here would otherwise reach Spanish as its "translation", unlisted.
        catalog.update(copy.deepcopy(pot), no_fuzzy_matching=True)
        for message in catalog:
            if not message.id:
                continue
            key = message.id if isinstance(message.id, str) else message.id[0]
            if language == "en":
                message.string = message.id if isinstance(message.id, str) else (
                    message.id[0], message.id[1])
            elif key in extra:
                message.string = extra[key]
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            if language == "es" and not all(strings):
                missing.append(key)
        _write(path, catalog)
    return missing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m web.catalogs", description=__doc__)
    parser.add_argument("--es", type=Path, action="append", default=[],
                        help="Spanish translations: a JSON object or another .po (repeatable)")
    missing = update(parser.parse_args(argv).es)
    for key in missing:
        print(f"es: untranslated: {key!r}", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    raise SystemExit(main())
