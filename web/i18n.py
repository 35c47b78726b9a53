"""The console's languages (English, Spanish): gettext catalogs read from the ``.po`` files
of ``web/locale`` at start-up (compiled in memory, so no build step is needed), the person's
choice (a cookie) or their browser's Accept-Language, and dates in the district's time zone."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache, lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = {"en": "English", "es": "Español"}
DEFAULT = "en"
COOKIE = "transfers_lang"


@cache
def translations(language: str) -> Translations:
    """The catalog of ``language``, from its ``.po`` file, compiled once per process."""
    with (LOCALE_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as source:
        catalog = read_po(source, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)


def negotiate(chosen: str | None, accept_language: str | None) -> str:
    """The person's choice when it is a language of ours, else the first of their browser's
    (by quality) that is, else English."""
    if chosen in LANGUAGES:
        return chosen
    ranked: list[tuple[float, int, str]] = []
    for place, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        ranked.append((-quality, place, tag.strip().lower().split("-")[0]))
    for quality, _place, language in sorted(ranked):
        if quality < 0 and language in LANGUAGES:
            return language
    return DEFAULT


@dataclass(frozen=True)
class Speaker:
    """Everything a page says, in one language and one district's time zone."""

    language: str

    @property
    def catalog(self) -> Translations:
        return translations(self.language)

    def gettext(self, message: str, **values: object) -> str:
        text = self.catalog.gettext(message)
        return text % values if values else text

    def ngettext(self, singular: str, plural: str, count: int, **values: object) -> str:
        text = self.catalog.ngettext(singular, plural, count)
        return text % {"num": count, **values}

    def when(self, instant: datetime | None, zone: str) -> str:
        """An instant as the district's clock showed it."""
        if instant is None:
            return ""
        return format_datetime(instant, "medium", tzinfo=ZoneInfo(zone), locale=self.language)

    def day(self, day: date | None) -> str:
        return _long_date(day, self.language) if day else ""

    def days_left(self, due: date, today: date) -> str:
        left = (due - today).days
        if left == 0:
            return self.gettext("due today")
        if left < 0:
            return self.ngettext("%(num)d day overdue", "%(num)d days overdue", -left)
        return self.ngettext("%(num)d day left", "%(num)d days left", left)


@lru_cache(maxsize=4096)
def _long_date(day: date, language: str) -> str:
    # A worklist page shows 200 dates, most of them the same few: Babel took 4 ms a page.
    return format_date(day, "long", locale=language)


def today_in(zone: str) -> date:
    return datetime.now(ZoneInfo(zone)).date()
