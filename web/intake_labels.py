"""Intake's refusals in the page's language (docs/portal.md "Intake's messages in the parent's
language"). Intake (`intake/`, `rules/`, `app/submissions.py`) words its refusals in English,
as the CLI prints them, and keeps doing so; the portal's apply forms show them in the
parent's language through this catalog of their patterns: each English message with its
variable parts as placeholders (``unknown school %(school)s in %(district)s``), whose Spanish
is in the pages' catalogs (`python -m web.catalogs`), as activities/rendering.py does for the
notices' labels.

A message is matched whole; a message of several (``"; "``-joined, as intake joins a form's
problems) part by part; a part named by its field (``student.first_name: ...``) keeps the
field's name. The placeholders' values (names, ids, dates) are translated in turn when they
are messages of the catalog ("grade 4 of the regular program at ..."), else kept as typed. A
message or part that matches nothing stays English: a new refusal is still shown, and
tests/web/test_intake_labels.py fails until it is in the catalog."""

from __future__ import annotations

import re
from functools import cache

from web.i18n import DEFAULT, Speaker
from web.labels import N_

# Every message the apply forms can show, English as intake writes it. The longest literal text
# is tried first, so a specific message wins over a general one that also matches.
MESSAGES = [
    # The application layer's own (app/applications.py).
    N_("Choose one of your students."),
    N_("The district's records do not list you as this student's parent or guardian: "
       "choose your student above, or ask the district's office to add you."),
    # The form's fields, as the models check them (pydantic's words, models/text.py's).
    N_("Field required"),
    N_("not a field of the form"),
    N_("Input should be %(choices)s or %(last)s"),
    N_("Input should be a valid boolean, unable to interpret input"),
    N_("Input should be a valid integer, unable to parse string as an integer"),
    N_("Input should be greater than or equal to %(number)s"),
    N_("Input should be less than or equal to %(number)s"),
    N_("String should have at least %(number)s character"),
    N_("String should have at least %(number)s characters"),
    N_("String should have at most %(number)s characters"),
    N_("String should match pattern '^\\d{4}-\\d{4}$'"),
    N_("String should match pattern '^[A-Za-z0-9_.-]+$'"),
    N_("String should match pattern %(pattern)s"),
    N_("Value error, %(problem)s"),
    N_("contains %(character)s (%(name)s), which is not allowed"),
    N_("a control character"),
    N_("is blank"),
    N_("value is not a valid email address: %(why)s"),
    # intake/interdistrict.py, intake/within.py
    N_("district %(district)s does not take interdistrict permit requests"),
    N_("school year %(year)s is not in %(district)s's calendar (known: %(known)s)"),
    N_("request is for district %(district)s, not %(expected)s"),
    N_("unknown school %(school)s in %(district)s"),
    N_("student %(student)s already has an open request for %(year)s: %(request)s"),
    N_("%(school)s has no %(program)s program (it offers %(offered)s)"),
    N_("%(school)s has no grade %(grade)s (grades %(lowest)s-%(highest)s)"),
    N_("%(district)s names no staff member with the %(role)s role"),
    # rules/eligibility.py
    N_("requester relationship %(relationship)s may not request a permit: only a parent may "
       "(EC 46600.1: %(allowed)s)"),
    N_("school year %(year)s must be two consecutive years"),
    N_("school year %(year)s ended on %(day)s"),
    N_("requests for school year %(year)s open on %(day)s; today is %(today)s"),
    # rules/within_eligibility.py, rules/tiers.py, models/within_district.py (a seat)
    N_("grade %(grade)s is not K-12 (I.A)"),
    N_("the student is not currently enrolled in the District (I.A)"),
    N_("only students whose parents reside in the District (II.A) or who attend under option "
       "enrollment (II.B) may ask for a within-district transfer"),
    N_("residency attendance_area means living in the attendance area of %(school)s, but the "
       "home school is %(home)s: the student is an other_resident there"),
    N_("%(school)s is the student's home school: residency there is attendance_area, not "
       "other_resident"),
    N_("students may not transfer during an expulsion (III.A)"),
    N_("students may not transfer during a suspension (III.A)"),
    N_("student %(student)s already has an open within-district request (%(ids)s); only one "
       "may be open at a time (VI.C)"),
    N_("transfers_this_year cannot be negative"),
    N_("the student has already transferred this school year; a second transfer needs a "
       "safety, health or program issue (IV.G)"),
    N_("%(seat)s is not open to within-district transfers (VII)"),
    N_("student %(student)s already attends the %(program)s program at %(school)s: ask for a "
       "different school or program (I.A)"),
    N_("student %(student)s lives in the attendance area of %(school)s: its regular program "
       "needs no transfer (VIII.C.1)"),
    N_("grade %(grade)s of the %(program)s program at %(school)s"),
    N_("kindergarten of the %(program)s program at %(school)s"),
    # rules/within_windows.py
    N_("no window for %(year)s is open at %(at)s: next-year applications run from %(opens)s "
       "until %(closes)s (VIII.A)%(again)s; current-year applications from the first day of "
       "school until %(until)s (IX.A)"),
    N_("no window for %(year)s is open at %(at)s: next-year applications run from %(opens)s "
       "until %(closes)s (forms delivered in person until %(in_person)s) (VIII.A)%(again)s; "
       "current-year applications from the first day of school until %(until)s (IX.A)"),
    N_("; it reopens the day after %(day)s (VIII.A.3)"),
    # VIII.A.2's two closes (rules/within_windows.py, the lottery's).
    N_("forms delivered in person for %(year)s closed at %(at)s (VIII.A.2: \"received no "
       "later than 5:00 p.m.\")"),
    N_("applications submitted online are taken until %(at)s"),
    N_("a form received before then is entered with when and by whom it was received"),
    N_("parents may still apply online, on the portal, until %(at)s"),
    N_("received at %(at)s by the workflows' clock, the request falls in the %(actual)s "
       "window, not the %(kind)s one the submitting machine's clock gave: check that "
       "machine's clock"),
    N_("the receipt time %(at)s is in the future"),
    # rules/agreements.py
    N_("the agreement with %(partner)s does not cover %(year)s (%(terms)s; EC 46600(a)(1))"),
    N_("no agreement with %(district)s: interdistrict attendance rests on an agreement between "
       "the two districts (EC 46600(a)(1)); agreements: %(known)s"),
    N_("the agreement with %(partner)s does not require reapplying each year: once enrolled, "
       "the student does not reapply (EC 46600(a)(1)-(2))"),
    # app/submissions.py, app/context.py, districts/
    N_("student %(student)s already has an open request (VI.C: one at a time): %(holder)s"),
    N_("student %(student)s already has an open request %(which)s: %(holder)s"),
    N_("request %(id)s already exists"),
    N_("unknown district %(district)s"),
    N_("%(district)s does not take within-district requests (%(why)s)"),
    N_("no records store at %(where)s: start `transfers dev`, or set TRANSFERS_DATA_DIR / the "
       "config file (%(path)s)"),
    N_("the records store cannot be read (%(error)s): it may be damaged; restore it from its "
       "backup"),
    N_("cannot reach Temporal at %(address)s: %(error)s"),
    # The workflows' own verdicts (workflows/lottery.py's entry, a request's admission).
    N_("start refused: %(reason)s"),
    N_("applications for %(year)s closed at %(at)s (VIII.A.2)%(again)s"),
    N_("applications for %(year)s closed at %(at)s online, and at %(in_person)s in person "
       "(VIII.A.2)%(again)s"),
    N_("; it reopens at %(at)s (VIII.A.3)"),
    N_("the form was received %(at)s, before applications for %(year)s opened at %(opens)s "
       "(VIII.A.1)"),
    N_("%(seat)s is not open to within-district transfers in this lottery (VII); seats set "
       "after it opened are added with `transfers lottery add-seats`"),
    N_("student %(student)s already holds or is offered a seat"),
    N_("application %(id)s was already entered"),
    N_("student %(student)s already applied for %(seat)s (application %(id)s)"),
]

_PLACEHOLDER = re.compile(r"%\((\w+)\)s")
# A part that names its field first: "student.first_name: ...", "school: ...".
_LOCATED = re.compile(r"([a-z_][a-z0-9_]*(?:\.[a-z0-9_]+)*): (.+)", re.DOTALL)
_EXACT = frozenset(m for m in MESSAGES if not _PLACEHOLDER.search(m))


@cache
def _patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    found = []
    for message in MESSAGES:
        if _PLACEHOLDER.search(message):
            parts = _PLACEHOLDER.split(message)  # text, name, text, name, ..., text
            regex = "".join(re.escape(part) if n % 2 == 0 else f"(?P<{part}>.*?)"
                            for n, part in enumerate(parts))
            found.append((message, re.compile(regex, re.DOTALL)))
    return tuple(sorted(found, key=lambda f: -len(_PLACEHOLDER.sub("", f[0]))))


def _one(text: str, says: Speaker) -> str | None:
    """``text`` as one message of the catalog, in ``says``'s language; None if it is none."""
    if text in _EXACT:
        return says.gettext(text)
    for message, pattern in _patterns():
        found = pattern.fullmatch(text)
        if found:
            values = {name: (_one(value, says), value)
                      for name, value in found.groupdict().items()}
            # A value that runs over "; " is a message of its own, or this is not the match:
            # a placeholder at the end would otherwise swallow the messages after it.
            if any(done is None and "; " in value for done, value in values.values()):
                continue
            return says.catalog.gettext(message) % {
                name: done if done is not None else value
                for name, (done, value) in values.items()}
    located = _LOCATED.fullmatch(text)
    if located:
        said = _one(located[2], says)
        if said is not None:
            return f"{located[1]}: {said}"
    return None


def _parts(pieces: list[str], says: Speaker, missing: list[str]) -> list[str]:
    """The pieces (a message split at "; ") as the fewest messages of the catalog, the longest
    first; a piece that begins none stays as it is, and is added to ``missing``."""
    if not pieces:
        return []
    for end in range(len(pieces), 0, -1):
        said = _one("; ".join(pieces[:end]), says)
        if said is not None:
            return [said, *_parts(pieces[end:], says, missing)]
    missing.append(pieces[0])
    return [pieces[0], *_parts(pieces[1:], says, missing)]


def said(message: str, says: Speaker) -> str:
    """Intake's ``message`` in the page's language; what the catalog lacks, in English."""
    if says.language == DEFAULT:
        return message
    return "; ".join(_parts(message.split("; "), says, []))


def unmatched(message: str) -> list[str]:
    """The parts of ``message`` that no message of the catalog matches (for the tests)."""
    missing: list[str] = []
    _parts(message.split("; "), Speaker(DEFAULT), missing)
    return missing
