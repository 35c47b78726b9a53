"""What a document's content is, told from its first bytes, and whether that is what its name
says and what a document may be (docs/cross-cutting.md "Documents").

Pure: it is given the first bytes (the store's first chunk) and reads nothing. The sniffing
is the `filetype` library's; the project adds only what it does not cover: a PDF whose header
is not at the very start, an Office file it cannot tell as Word, text and HTML."""

from __future__ import annotations

import codecs
from dataclasses import dataclass

import filetype

from rules.errors import PolicyError

PDF = "application/pdf"
DOC = "application/msword"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
OLE = "application/x-ole-storage"  # an Office file of the 97-2003 kind filetype cannot name
TEXT = "text/plain"
HTML = "text/html"
UNKNOWN = "application/octet-stream"

# What a document of any kind may be: PDFs and images (phone photos), as always Word files.
ACCEPTED: dict[str, str] = {
    PDF: "a PDF",
    "image/jpeg": "a JPEG image",
    "image/png": "a PNG image",
    "image/heic": "a HEIC image",
    "image/gif": "a GIF image",
    "image/tiff": "a TIFF image",
    DOC: "a Word document",
    DOCX: "a Word document",
}
# What else the sniffing may find, named as a person would.
OTHERS: dict[str, str] = {
    OLE: "an Office 97-2003 file",
    TEXT: "text",
    HTML: "HTML (a web page)",
    UNKNOWN: "data of no known kind",
    "application/zip": "a ZIP archive",
    "application/x-executable": "an executable program (ELF)",
    "application/x-msdownload": "a Windows program",
    "application/x-mach-binary": "a macOS program",
}
# What a name's ending says the content is; a name ending otherwise claims only that it is
# a document, so its content must be one that ACCEPTED names.
CLAIMS: dict[str, tuple[str, tuple[str, ...]]] = {
    ".pdf": ("a PDF", (PDF,)),
    ".png": ("a PNG image", ("image/png",)),
    ".jpg": ("a JPEG image", ("image/jpeg",)),
    ".jpeg": ("a JPEG image", ("image/jpeg",)),
    ".heic": ("a HEIC image", ("image/heic",)),
    ".heif": ("a HEIC image", ("image/heic",)),
    ".gif": ("a GIF image", ("image/gif",)),
    ".tif": ("a TIFF image", ("image/tiff",)),
    ".tiff": ("a TIFF image", ("image/tiff",)),
    ".doc": ("a Word document", (DOC, OLE)),  # filetype names Word only by later markers
    ".docx": ("a Word document", (DOCX,)),
    ".txt": ("text", (TEXT,)),
}
PDF_HEADER_WITHIN = 1024  # readers accept the %PDF- header anywhere in the first kilobyte
OLE_HEADER = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
HTML_STARTS = (b"<!doctype html", b"<html")


@dataclass(frozen=True)
class Found:
    """What the first bytes were found to be: a MIME type and its name for people."""

    mime: str
    label: str


def sniff(head: bytes) -> Found:
    """What content beginning with ``head`` is. The library decides first, so a program that
    also holds ``%PDF-`` in its first kilobyte is a program."""
    guess = filetype.guess(head)
    if guess is not None:
        label = ACCEPTED.get(guess.mime) or OTHERS.get(guess.mime)
        return Found(guess.mime, label or f"a {guess.extension.upper()} file ({guess.mime})")
    if b"%PDF-" in head[:PDF_HEADER_WITHIN]:
        return Found(PDF, ACCEPTED[PDF])
    if head.startswith(OLE_HEADER):
        return Found(OLE, OTHERS[OLE])
    if _is_text(head):
        if head.lstrip().lower().startswith(HTML_STARTS):
            return Found(HTML, OTHERS[HTML])
        return Found(TEXT, OTHERS[TEXT])
    return Found(UNKNOWN, OTHERS[UNKNOWN])


def _is_text(head: bytes) -> bool:
    """UTF-8 without NUL; ``head`` may end inside a character, where the first chunk ends."""
    if b"\x00" in head:
        return False
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return True


def check_document_content(name: str, head: bytes) -> Found:
    """Refuse a document that is empty, that is not what its name says (a ``.pdf`` that is a
    program, a ``.docx`` that is a plain ZIP), or that no document may be (HTML, a ZIP, a
    program, whatever its name). The message names the file and what it was found to be."""
    if not head:
        raise PolicyError(f"document {name!r} is empty")
    found = sniff(head)
    suffix = name[name.rfind("."):].lower() if "." in name else ""
    if suffix in CLAIMS:
        claimed, mimes = CLAIMS[suffix]
        if found.mime not in mimes:
            raise PolicyError(
                f"document {name!r} is not {claimed}, as its name says: it is {found.label}")
    elif found.mime not in ACCEPTED:
        raise PolicyError(
            f"document {name!r} is {found.label}: a document must be a PDF, an image (JPEG, "
            "PNG, HEIC, GIF, TIFF), a Word document, or text named .txt")
    return found
