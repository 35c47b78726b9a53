"""models/text: what a name or a note may hold (docs/cross-cutting.md "Hostile text")."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from models.actions import DocumentFile
from models.documents import DocumentKind, check_document_name
from models.errors import PolicyError
from models.text import Line, Text


class Form(BaseModel):
    name: Line = ""
    note: Text = ""


@pytest.mark.parametrize("name", [
    "Ana", "José Ñúñez", "O'Brien-Smith", "Nguyễn Thị Minh Khai", "李小龍", "محمد",
    "Zoë 🎓", "D’Angelo",
])
def test_names_as_people_write_them_are_kept_as_typed(name: str) -> None:
    assert Form(name=name).name == name


@pytest.mark.parametrize(("char", "code"), [
    ("\x00", "U+0000"), ("\r", "U+000D"), ("\n", "U+000A"), ("\t", "U+0009"),
    ("\x1b", "U+001B"), ("\x7f", "U+007F"), ("\x85", "U+0085"),  # C0, DEL, C1
    ("\u202e", "U+202E"), ("\u202d", "U+202D"), ("\u2066", "U+2066"), ("\u200f", "U+200F"),
    ("\u061c", "U+061C"),  # bidirectional controls
    ("\u200b", "U+200B"), ("\u200d", "U+200D"), ("\u2060", "U+2060"), ("\ufeff", "U+FEFF"),
    ("\u2028", "U+2028"), ("\u00ad", "U+00AD"), ("\ue000", "U+E000"),  # line sep, soft hyphen
])
def test_a_name_with_a_control_or_invisible_character_is_refused_naming_it(
    char: str, code: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        Form(name=f"Ana{char}Lopez")
    assert "name" in str(refused.value) and code in str(refused.value)


def test_a_note_may_run_over_lines_but_not_carry_other_controls() -> None:
    assert Form(note="first line\n\tsecond line").note == "first line\n\tsecond line"
    with pytest.raises(ValidationError, match=r"U\+000D"):
        Form(note="first\r\nsecond")
    with pytest.raises(ValidationError, match=r"U\+202E"):
        Form(note="approved \u202edeined")


def test_blank_is_refused_and_empty_means_left_out() -> None:
    assert Form(name="", note="").name == ""
    for blank in (" ", "\u3000", "   "):
        with pytest.raises(ValidationError, match="is blank"):
            Form(name=blank)
    with pytest.raises(ValidationError, match="is blank"):
        Form(note="\n\n")


def test_a_document_name_with_a_right_to_left_override_is_refused() -> None:
    # "invoice\u202efdp.exe" shows as "invoiceexe.pdf"
    with pytest.raises(PolicyError, match=r"U\+202E"):
        check_document_name("invoice\u202efdp.exe")
    with pytest.raises(ValidationError, match=r"U\+202E"):
        DocumentFile(kind=DocumentKind.escrow_or_lease, name="lease\u202efdp.exe",
                     sha256="0" * 64, size=1)
    assert check_document_name("Mietvertrag für Ana.pdf") == "Mietvertrag für Ana.pdf"
