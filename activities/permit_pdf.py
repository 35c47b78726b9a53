"""The permit as a printable PDF (docs/permits.md "The permit as a PDF"): what the approval's
notice carries as an attachment and what the portal and the console let a reader download.

Its words come from a template in the reader's language (``permit_templates/<language>.txt``,
English and Spanish; another language falls back to English, as notices do). A template's
lines are drawn as: ``# `` the title, ``## `` a heading, ``label | value`` a row of the table,
``! label | value`` the verification code in its box, ``_ label`` a line to sign on, an empty
line a gap, and any other line a paragraph (consecutive lines join).

The font is PDF's standard Helvetica when every letter is Latin-1 (English and Spanish
are), else DejaVu Sans (``fonts/``: cut to the Latin scripts, with its licence), embedded in
the PDF: the accents of Spanish and of names print as they are written, and nothing is
fetched at run time. The bytes depend only on the document: the creation date is the issue
date, the producer names no library version, so a retried notice attaches the same file."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from jinja2 import Environment, PackageLoader, StrictUndefined, TemplateNotFound

from activities.rendering import DATE_NAMES, ENGLISH, normalise_language
from models.permits import PermitCondition, PermitProcess
from models.stages import Stage
from models.within_request import WithinRequestState, WithinStage
from rules import calendar
from rules.permit_codes import key_name, printed_code

FONTS = Path(__file__).parent / "fonts"
FONT = "DejaVuSans"
# PDF's own Helvetica for a permit whose words are all Latin-1 (English, Spanish, most names):
# nothing to embed, about a sixth of the time of a subset TrueType font (~10 ms, not ~60 ms,
# on every approval's notice). Any other letter takes DejaVu Sans, which has it.
CORE_FONT = "helvetica"
MEDIA_TYPE = "application/pdf"
PRODUCER = "school-transfers"  # no library version: the bytes stay the same across upgrades

_env = Environment(
    loader=PackageLoader("activities", "permit_templates"),
    undefined=StrictUndefined,  # a field missing from the document is a bug, never a blank
    keep_trailing_newline=True,
    autoescape=False,
)

# The stages in which a request issued its permit: the first entry in one is the issue day.
ISSUING_STAGES = frozenset({Stage.approved.value, WithinStage.placed.value})


@dataclass(frozen=True)
class PermitDocument:
    """What the printed permit says (names as the district's file writes them)."""

    permit_id: str
    district: str  # the district's id: its key makes the verification code
    district_name: str
    process: PermitProcess
    direction: str  # interdistrict: "into" or "out" of the district; "" within it
    student_name: str
    grade: int  # 0: kindergarten
    school_year: str
    school: str  # the school attended ("" when it is the other district's to choose)
    other_district: str  # interdistrict: the district of residence or of enrollment
    program: str  # within the district: the program ("regular" when none)
    condition: PermitCondition
    issued_on: date  # in the district's time zone
    verification_code: str


def file_name(document: PermitDocument) -> str:
    return f"{document.permit_id}.pdf"


def issued_on(history: list[Any], timezone: str) -> date | None:
    """The day (in the district's time zone) of the first audit entry in which the request
    issued its permit (approved, placed); None when it never did."""
    entry = next((e for e in history if str(getattr(e.stage, "value", e.stage))
                  in ISSUING_STAGES), None)
    return None if entry is None else entry.at.astimezone(ZoneInfo(timezone)).date()


def from_request(
    state: Any, history: list[Any], *, district_name: str, school_name: str, key: bytes,
) -> PermitDocument | None:
    """The permit a request issued, from its record (`models.state.RequestState` or
    `models.within_request.WithinRequestState`) and its audit trail: None when it issued none.
    ``school_name``: the school's name as the district's file writes it ("" for none);
    ``key``: the district's permit-code key (the records store's secret `code_key_name`)."""
    day = issued_on(history, state.timezone)
    if state.permit_id is None or day is None:
        return None
    request = state.request
    within = isinstance(state, WithinRequestState)
    if within:
        condition = PermitCondition.until_level_end  # IV.D
    else:
        condition = (PermitCondition.reapply_annually if request.reapply_annually
                     else PermitCondition.until_level_end)
    return PermitDocument(
        permit_id=state.permit_id, district=request.district, district_name=district_name,
        process=PermitProcess.within_district if within else PermitProcess.interdistrict,
        direction="" if within else request.direction.value,
        student_name=request.student.full_name, grade=request.student.grade,
        school_year=request.school_year, school=school_name,
        other_district="" if within else request.other_district,
        program=request.program.value if within else "regular", condition=condition,
        issued_on=day, verification_code=printed_code(key, state.permit_id),
    )


def code_key_name(district: str) -> str:
    """The records store's secret that keys ``district``'s verification codes."""
    return key_name(district)


# ---- rendering ---------------------------------------------------------------------------


def _long_date(day: date, language: str) -> str:
    names = DATE_NAMES.get(language)
    return names.long_date(day) if names else calendar.long_date(day)


def _template_language(language: str | None) -> str:
    wanted = normalise_language(language)
    try:
        _env.get_template(f"{wanted}.txt")
    except TemplateNotFound:
        return ENGLISH
    return wanted


def text(
    document: PermitDocument, language: str | None = ENGLISH, verify_url: str | None = None,
) -> tuple[str, str]:
    """The permit's words from its template: (the language used, the text). ``verify_url``:
    the portal's verification page, printed when the deployment has a portal."""
    used = _template_language(language)
    fields = {name: getattr(document, name) for name in PermitDocument.__dataclass_fields__}
    fields.update(process=document.process.value, condition=document.condition.value,
                  issued_on=_long_date(document.issued_on, used), verify_url=verify_url or "")
    return used, _env.get_template(f"{used}.txt").render(**fields)


@cache
def _font_files() -> tuple[Path, Path]:
    regular, bold = FONTS / f"{FONT}.ttf", FONTS / f"{FONT}-Bold.ttf"
    if not (regular.is_file() and bold.is_file()):
        raise FileNotFoundError(f"the permit's font is not installed in {FONTS}")
    return regular, bold


class _Permit(FPDF):
    def __init__(self, title: str, latin_1: bool) -> None:
        super().__init__(format="Letter", unit="mm")
        self.font_choice = CORE_FONT if latin_1 else FONT
        if not latin_1:
            regular, bold = _font_files()
            self.add_font(FONT, "", regular)
            self.add_font(FONT, "B", bold)
        self.set_margins(20, 20, 20)
        self.set_auto_page_break(True, margin=20)
        self.set_title(title)
        self.set_producer(PRODUCER)
        self.set_creator(PRODUCER)

    def row(self, label: str, value: str) -> None:
        self.set_font(self.font_choice, "B", 10)
        self.cell(55, 7, label, new_x=XPos.RIGHT, new_y=YPos.TOP)
        self.set_font(self.font_choice, "", 10)
        self.multi_cell(0, 7, value, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def code(self, label: str, value: str) -> None:
        self.ln(2)
        self.set_draw_color(0)
        self.set_line_width(0.4)
        top = self.get_y()
        self.set_xy(self.l_margin + 3, top + 3)
        self.set_font(self.font_choice, "B", 10)
        self.cell(0, 6, label, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_x(self.l_margin + 3)
        self.set_font(self.font_choice, "B", 16)
        self.cell(0, 9, value, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.rect(self.l_margin, top, self.epw, self.get_y() + 3 - top)
        self.set_y(self.get_y() + 5)

    def signature(self, label: str) -> None:
        self.ln(10)
        y = self.get_y()
        self.line(self.l_margin, y, self.l_margin + 100, y)
        self.line(self.l_margin + 115, y, self.l_margin + self.epw, y)
        self.set_font(self.font_choice, "", 8)
        self.cell(0, 5, label, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _draw(pdf: _Permit, lines: list[str]) -> None:
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            pdf.set_font(pdf.font_choice, "", 10)
            pdf.multi_cell(0, 5.5, " ".join(paragraph), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            paragraph.clear()

    for line in (raw.strip() for raw in lines):
        if line and not line.startswith(("#", "!", "_")) and " | " not in line:
            paragraph.append(line)
            continue
        flush()
        if not line:
            pdf.ln(3)
        elif line.startswith("## "):
            pdf.set_font(pdf.font_choice, "B", 13)
            pdf.multi_cell(0, 8, line[3:], new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        elif line.startswith("# "):
            pdf.set_font(pdf.font_choice, "B", 18)
            pdf.multi_cell(0, 10, line[2:], new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        elif line.startswith("! "):
            pdf.code(*(part.strip() for part in line[2:].split(" | ", 1)))
        elif line.startswith("_ "):
            pdf.signature(line[2:])
        else:
            pdf.row(*(part.strip() for part in line.split(" | ", 1)))
    flush()


def render_pdf(
    document: PermitDocument, language: str | None = ENGLISH, verify_url: str | None = None,
) -> bytes:
    """The permit as a PDF in ``language`` (English when there is no template in it)."""
    _, words = text(document, language, verify_url)
    lines = words.splitlines()
    title = next((line[2:].strip() for line in lines if line.startswith("# ")), "Permit")
    try:
        words.encode("latin-1")
        latin_1 = True
    except UnicodeEncodeError:
        latin_1 = False
    pdf = _Permit(title, latin_1)
    # The issue day, not now: the same document makes the same bytes on every attempt.
    pdf.set_creation_date(datetime.combine(document.issued_on, time(12), UTC))
    pdf.add_page()
    _draw(pdf, lines)
    return bytes(pdf.output())
