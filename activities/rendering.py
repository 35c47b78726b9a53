"""Rendering notices from their templates, in the parent's language.

Templates: ``activities/templates/<language>/<kind>.txt``, the first line ``Subject: ...``.
English (``en``) has one for every notice kind; Spanish (``es``) for every notice to parents
(California EC 48985: notices in the parent's primary language where 15 percent or more of a
school's pupils speak it). Staff notices (``staff_reminder``, ``staff_escalation``) are in
English only.

The language: `normalise_language` keeps the primary subtag, lower case ("es-MX", "ES",
"es_MX" → "es"; "Spanish"/"español" → "es"; empty → "en"). A language without a template
for the kind (or a value that is no language code) falls back to English, and the result
says so in ``note`` ("no fr template for denied: sent in English"), which the delivery
record keeps.

What is in the notice's language: the templates' own text, and dates. The workflows build
the facts in English; a fact whose value is exactly an English long date as
`rules.calendar.long_date` writes it ("Wednesday, March 31, 2027") is written again in the
notice's language ("miércoles, 31 de marzo de 2027") from the tables of day and month names
below: no locale is involved, so the worker's locale never changes a notice. A string that
only contains a date is left as it is.

The labels the workflows give in English (``TRANSLATED``: document labels in ``missing``,
denial reasons in ``reasons``, why a request was abandoned or a seat not given in ``why`` and
``reason``, ``grade``) are the codes' own words, the same for every request, so they are
looked up in the language's notices catalog (``activities/locale/<language>/LC_MESSAGES/
notices.po``, English text as the key, as gettext does): exactly, or by a message with
placeholders ("grade %(number)s"), whose values are looked up in turn. A label the catalog
lacks stays English (tests/activities/test_notice_languages.py checks that every label the
rules can give has its Spanish).

What stays as the workflows give it: ``detail``, ``no_appeal_reason``, ``appeal_body``,
``contact`` (the district's own words) and the names of people, schools and districts. The
contact is the signature: where the district's file gives it in the notice's language
(``contact_es``), `render` is given that text (``contacts``) and signs with it
(docs/portal.md "The signature in Spanish").
``direction_text`` is English prose: the Spanish templates say the direction from
``direction``, ``district_name`` and ``other_district`` instead.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po
from jinja2 import Environment, PackageLoader, StrictUndefined, Template, TemplateNotFound

ENGLISH = "en"

_env = Environment(
    loader=PackageLoader("activities", "templates"),
    undefined=StrictUndefined,  # a fact missing from a notice is a bug, never a blank
    keep_trailing_newline=True,
    autoescape=False,
)


def _without_article(name: Any) -> str:
    """An English proper name without its leading "the" ("the Los Angeles County Office of
    Education (LACOE)" → "Los Angeles County Office of Education (LACOE)"), for templates in
    other languages."""
    text = str(name)  # StrictUndefined raises here: a missing fact stays an error
    return text[4:] if text[:4].lower() == "the " else text


_env.filters["without_article"] = _without_article


@dataclass(frozen=True)
class Attachment:
    """A file sent with a notice (the approval's permit: activities/permit_pdf.py)."""

    filename: str
    media_type: str  # e.g. "application/pdf"
    content: bytes


@dataclass(frozen=True)
class RenderedNotice:
    subject: str
    body: str
    language: str = ENGLISH  # the language of the text: English when it fell back
    note: str = ""  # why it is not in the language asked for; empty when it is
    attachments: tuple[Attachment, ...] = ()


# ---- languages ---------------------------------------------------------------------------

_LANGUAGE_NAMES = {
    "english": "en", "inglés": "en", "ingles": "en",
    "spanish": "es", "español": "es", "espanol": "es", "castellano": "es",
}
_LANGUAGE_CODE = re.compile(r"[a-z]{2,3}")


def normalise_language(language: str | None) -> str:
    """The primary language subtag in lower case: "es-MX", "ES", "es_MX" → "es". Empty →
    "en". A value that is no language code comes back cleaned (lower case), so a fallback's
    note can name it; it never selects a template folder."""
    text = (language or "").strip().lower().replace("_", "-")
    if not text:
        return ENGLISH
    if text in _LANGUAGE_NAMES:
        return _LANGUAGE_NAMES[text]
    primary = text.split("-", 1)[0]
    return primary if _LANGUAGE_CODE.fullmatch(primary) else text


# ---- dates -------------------------------------------------------------------------------

_EN_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_EN_MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)
_EN_LONG_DATE = re.compile(
    rf"({'|'.join(_EN_DAYS)}), ({'|'.join(_EN_MONTHS)}) ([1-9]|[12][0-9]|3[01]), ([0-9]{{4}})"
)


@dataclass(frozen=True)
class DateNames:
    """How a language writes a long date: day names from Monday, month names from January,
    and the pattern (fields ``weekday``, ``day``, ``month``, ``year``)."""

    days: tuple[str, ...]
    months: tuple[str, ...]
    pattern: str

    def long_date(self, day: date) -> str:
        return self.pattern.format(
            weekday=self.days[day.weekday()], day=day.day, month=self.months[day.month - 1],
            year=day.year,
        )


DATE_NAMES: dict[str, DateNames] = {
    "es": DateNames(
        days=("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"),
        months=(
            "enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
            "septiembre", "octubre", "noviembre", "diciembre",
        ),
        pattern="{weekday}, {day} de {month} de {year}",  # "miércoles, 31 de marzo de 2027"
    ),
}


def parse_english_long_date(text: str) -> date | None:
    """The date of "Wednesday, March 31, 2027" (exactly that form, the weekday right for the
    date); None for anything else."""
    found = _EN_LONG_DATE.fullmatch(text)
    if found is None:
        return None
    weekday, month, day, year = found.groups()
    try:
        parsed = date(int(year), _EN_MONTHS.index(month) + 1, int(day))
    except ValueError:  # February 30
        return None
    return parsed if _EN_DAYS[parsed.weekday()] == weekday else None


def localise_facts(facts: dict[str, Any], language: str) -> dict[str, Any]:
    """The facts with every value that is exactly an English long date (also inside lists
    and dicts) written in ``language``; as they are for English or a language without date
    names."""
    names = DATE_NAMES.get(language)
    if names is None:
        return facts

    def localise(value: Any) -> Any:
        if isinstance(value, str):
            day = parse_english_long_date(value)
            return value if day is None else names.long_date(day)
        if isinstance(value, list | tuple):
            return type(value)(localise(v) for v in value)
        if isinstance(value, dict):
            return {k: localise(v) for k, v in value.items()}
        return value

    return {key: localise(value) for key, value in facts.items()}


# ---- labels ------------------------------------------------------------------------------

TRANSLATED = ("missing", "reasons", "why", "reason", "grade")
LOCALE_DIR = Path(__file__).parent / "locale"
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


@cache
def _catalog(language: str) -> tuple[dict[str, str], tuple[tuple[re.Pattern[str], str], ...]]:
    """The language's labels: exact ones, and those with placeholders as patterns."""
    path = LOCALE_DIR / language / "LC_MESSAGES" / "notices.po"
    if not path.is_file():
        return {}, ()
    with path.open("rb") as source:
        catalog = read_po(source, locale=language)
    exact: dict[str, str] = {}
    patterns: list[tuple[re.Pattern[str], str]] = []
    for message in catalog:
        if not message.id or not isinstance(message.id, str) or not message.string:
            continue
        if _PLACEHOLDER.search(message.id):
            parts = _PLACEHOLDER.split(message.id)  # text, name, text, name, ..., text
            regex = "".join(re.escape(part) if n % 2 == 0 else f"(?P<{part}>.+?)"
                            for n, part in enumerate(parts))
            patterns.append((re.compile(regex), str(message.string)))
        else:
            exact[message.id] = str(message.string)
    return exact, tuple(patterns)


def translate_label(text: str, language: str) -> str:
    """``text`` (an English label) in ``language``, or as it is when the catalog lacks it."""
    exact, patterns = _catalog(language)
    if text in exact:
        return exact[text]
    for pattern, translation in patterns:
        found = pattern.fullmatch(text)
        if found:
            # The values are names and labels: an English "the" before a name stays behind.
            return translation % {name: translate_label(_without_article(value), language)
                                  for name, value in found.groupdict().items()}
    return text


def translate_facts(facts: dict[str, Any], language: str) -> dict[str, Any]:
    """The facts with the labels of ``TRANSLATED`` in ``language`` (lists item by item)."""
    if language == ENGLISH:
        return facts
    done = dict(facts)
    for name in TRANSLATED:
        value = facts.get(name)
        if isinstance(value, str):
            done[name] = translate_label(value, language)
        elif isinstance(value, list):
            done[name] = [translate_label(v, language) if isinstance(v, str) else v
                          for v in value]
    return done


# ---- rendering ---------------------------------------------------------------------------


def template_name(language: str, kind: str) -> str:
    return f"{language}/{kind}.txt"


def _template(kind: str, language: str) -> tuple[Template, str]:
    """The kind's template in ``language``, else in English; and the language it is in."""
    if language != ENGLISH and _LANGUAGE_CODE.fullmatch(language):
        name = template_name(language, kind)
        try:
            return _env.get_template(name), language
        except TemplateNotFound as missing:
            if missing.name != name:  # the template is there; something it needs is not
                raise
    return _env.get_template(template_name(ENGLISH, kind)), ENGLISH


def render(kind: str, facts: dict[str, Any], language: str | None = ENGLISH,
           contacts: Mapping[str, str] | None = None) -> RenderedNotice:
    """The notice ``kind`` in ``language`` (normalised), or in English with a note saying
    why; ``contacts``: the district's contact by language, the signature of a notice in one
    of them (``contact`` as given else). Raises a `jinja2.TemplateError` for a fact the
    template needs and does not get, or a kind without an English template."""
    wanted = normalise_language(language)
    template, used = _template(kind, wanted)
    note = "" if used == wanted else f"no {wanted} template for {kind}: sent in English"
    if contacts and contacts.get(used) and "contact" in facts:
        facts = {**facts, "contact": contacts[used]}
    text = template.render(**localise_facts(translate_facts(facts, used), used))
    first, _, body = text.partition("\n")
    if not first.startswith("Subject: "):
        raise ValueError(f"template {template_name(used, kind)} must start with a Subject: line")
    return RenderedNotice(
        subject=first.removeprefix("Subject: ").strip(), body=body.lstrip("\n"),
        language=used, note=note,
    )
