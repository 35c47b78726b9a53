"""rules/content.py: a document's first bytes against what its name says and what a document
may be (docs/cross-cutting.md "Documents"). The contents are built here, byte for byte, as
the formats begin."""

from __future__ import annotations

import io
import zipfile

import pytest

from rules.content import check_document_content
from rules.errors import PolicyError
from tests.support.paths import ROOT


def _zip(*members: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for member in members:
            archive.writestr(member, "<x/>")
    return buffer.getvalue()


PDF = b"%PDF-1.4\n% a lease\n"
JPEG = b"\xff\xd8\xff\xe1\x00\x16Exif\x00\x00" + bytes(64)  # a phone photo's EXIF header
JFIF = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(64)
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64)
HEIC = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(64)  # an iPhone's
HEIC_MIF1 = b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00mif1heic" + bytes(64)
GIF = b"GIF89a" + bytes(64)
TIFF = b"II*\x00" + bytes(64)
DOCX = _zip("[Content_Types].xml", "_rels/.rels", "word/document.xml")
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600)
ZIP = _zip("lease.pdf", "notes.txt")
ELF = b"\x7fELF\x02\x01\x01\x00" + bytes(64)
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + bytes(64)
HTML = b"<!DOCTYPE html>\n<html><body><script>alert(1)</script></body></html>\n"


@pytest.mark.parametrize(("name", "head", "found"), [
    ("lease.pdf", PDF, "a PDF"),
    ("lease.PDF", PDF, "a PDF"),
    ("lease.pdf", b"\r\n\r\n" + PDF, "a PDF"),  # readers accept the header in the first KiB
    ("pay-stub.pdf", (ROOT / "examples" / "pay-stub.pdf").read_bytes(), "a PDF"),
    ("photo.jpg", JPEG, "a JPEG image"),
    ("photo.jpeg", JFIF, "a JPEG image"),
    ("photo.png", PNG, "a PNG image"),
    ("IMG_0001.HEIC", HEIC, "a HEIC image"),
    ("photo.heif", HEIC_MIF1, "a HEIC image"),
    ("scan.gif", GIF, "a GIF image"),
    ("scan.tif", TIFF, "a TIFF image"),
    ("letter.docx", DOCX, "a Word document"),
    ("letter.doc", OLE, "an Office 97-2003 file"),
    ("letter.txt", "Carta del empleador: horario 8–5\n".encode(), "text"),
    ("lease", PDF, "a PDF"),  # no ending: any document may do
    ("photo from phone.jfif", JPEG, "a JPEG image"),
])
def test_what_a_document_may_be_is_accepted(name: str, head: bytes, found: str) -> None:
    assert check_document_content(name, head).label == found


@pytest.mark.parametrize(("name", "head", "words"), [
    ("lease.pdf", ELF, "is not a PDF, as its name says: it is an executable program (ELF)"),
    ("lease.pdf", EXE, "is not a PDF, as its name says: it is a Windows program"),
    ("lease.pdf", HTML, "is not a PDF, as its name says: it is HTML (a web page)"),
    ("lease.pdf", ZIP, "is not a PDF, as its name says: it is a ZIP archive"),
    ("lease.pdf", b"a lease, typed\n", "is not a PDF, as its name says: it is text"),
    ("letter.docx", ZIP, "is not a Word document, as its name says: it is a ZIP archive"),
    ("photo.png", JPEG, "is not a PNG image, as its name says: it is a JPEG image"),
    ("photo.jpg", PDF, "is not a JPEG image, as its name says: it is a PDF"),
    ("photo.heic", PNG, "is not a HEIC image, as its name says: it is a PNG image"),
    ("notes.txt", ELF, "is not text, as its name says: it is an executable program (ELF)"),
    ("notes.txt", HTML, "is not text, as its name says: it is HTML (a web page)"),
    ("notes.txt", b"\xff\xfe\x00t\x00e", "is not text, as its name says: it is data of no"),
])
def test_content_that_is_not_what_its_name_says_is_refused_naming_it(
    name: str, head: bytes, words: str
) -> None:
    with pytest.raises(PolicyError) as refused:
        check_document_content(name, head)
    assert str(refused.value).startswith(f"document {name!r} {words}")  # the file, what it is


@pytest.mark.parametrize(("name", "head", "found"), [
    ("lease.html", HTML, "HTML (a web page)"),
    ("lease.zip", ZIP, "a ZIP archive"),
    ("lease", ELF, "an executable program (ELF)"),
    ("setup.exe", EXE, "a Windows program"),
    ("lease", b"a lease, typed\n", "text"),  # text must say so by its name
    ("lease.bin", bytes(64), "data of no known kind"),
])
def test_what_no_document_may_be_is_refused_whatever_its_name(
    name: str, head: bytes, found: str
) -> None:
    with pytest.raises(PolicyError) as refused:
        check_document_content(name, head)
    assert str(refused.value).startswith(f"document {name!r} is {found}: a document must be")


def test_an_empty_document_is_refused_naming_it() -> None:
    with pytest.raises(PolicyError, match="document 'lease.pdf' is empty"):
        check_document_content("lease.pdf", b"")


def test_the_library_decides_before_the_late_pdf_header() -> None:
    """A program that also holds ``%PDF-`` in its first kilobyte is a program."""
    with pytest.raises(PolicyError, match="it is an executable program"):
        check_document_content("lease.pdf", ELF + b"%PDF-1.4\n")
    with pytest.raises(PolicyError, match="it is data of no known kind"):
        check_document_content("lease.pdf", bytes(1024) + PDF)  # past the first kilobyte


def test_text_may_end_inside_a_character_where_the_first_chunk_ends() -> None:
    head = "señora ".encode() * 10 + "ñ".encode()[:1]
    assert check_document_content("letter.txt", head).label == "text"
