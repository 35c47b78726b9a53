"""Documents whose names try to leave the store, and documents that are not what their
names say: cases that `transfers` must refuse, naming the problem, changing nothing
(tests/e2e/bad_input/test_cli.py)."""

from __future__ import annotations

import io
import zipfile

from tests.support.bad_input import (
    DOCUMENT,
    PDF,
    TEXT,
    Case,
)


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("lease.pdf", "not really")
    return buffer.getvalue()


ZIP = _zip()  # a plain archive: no word/ in it, so not a Word document

CASES = [
    # -- document names with path tricks
    Case("document-name-dot-dot", (*DOCUMENT, "--name", "../../etc/passwd"),
         ("tries to leave the document store",), PDF, ".pdf", touches=("open",)),
    Case("document-name-absolute", (*DOCUMENT, "--name", "/etc/passwd"),
         ("tries to leave the document store",), PDF, ".pdf", touches=("open",)),
    Case("document-name-backslash", (*DOCUMENT, "--name", "..\\..\\boot.ini"),
         ("tries to leave the document store",), PDF, ".pdf", touches=("open",)),
    Case("document-name-drive", (*DOCUMENT, "--name", "C:lease.pdf"),
         ("tries to leave the document store",), PDF, ".pdf", touches=("open",)),
    Case("document-name-dots", (*DOCUMENT, "--name", ".."),
         ("tries to leave the document store",), PDF, ".pdf", touches=("open",)),
    Case("document-name-control-characters", (*DOCUMENT, "--name", "lease\x00.pdf"),
         ("control character",), PDF, ".pdf", touches=("open",)),
    Case("document-name-newline", (*DOCUMENT, "--name", "lease.pdf\nBcc: x@example.org"),
         ("control character",), PDF, ".pdf", touches=("open",)),
    Case("document-name-too-long", (*DOCUMENT, "--name", "a" * 300 + ".pdf"),
         ("1 to 255 characters",), PDF, ".pdf", touches=("open",)),
    Case("document-missing-file",
         ("documents", "add", "{open}", "--kind", "escrow_or_lease", "{tmp}/nothing.pdf",
          "--actor", "clerk"), ("cannot read", "nothing.pdf"), touches=("open",)),
    Case("document-that-never-ends",
         ("documents", "add", "{open}", "--kind", "escrow_or_lease", "/dev/zero", "--name",
          "lease.pdf", "--actor", "clerk"), ("is not a regular file",), touches=("open",)),
    Case("document-that-is-a-folder",
         ("documents", "add", "{open}", "--kind", "escrow_or_lease", "{tmp}", "--name",
          "lease.pdf", "--actor", "clerk"), ("is not a regular file",), touches=("open",)),
    Case("document-name-right-to-left-override", (*DOCUMENT, "--name", "lease\u202efdp.exe"),
         ("U+202E",), PDF, ".pdf", touches=("open",)),
    Case("document-empty", DOCUMENT, ("is empty",), b"", ".pdf", touches=("open",)),
    Case("packet-kinds-and-files-differ",
         ("documents", "add", "{open}", "{file}", "{file}", "--kind", "escrow_or_lease",
          "--actor", "clerk"), ("2 file(s) but 1 --kind",), PDF, ".pdf", touches=("open",)),
    Case("packet-of-too-many-files",
         ("documents", "add", "{open}", *("{file}",) * 21, *("--kind", "escrow_or_lease") * 21,
          "--actor", "clerk"), ("21 files: at most 20",), PDF, ".pdf", touches=("open",)),
    Case("packet-with-a-missing-file",
         ("documents", "add", "{open}", "{file}", "{tmp}/nothing.pdf", "--kind",
          "escrow_or_lease", "--kind", "report_card", "--actor", "clerk"),
         ("cannot read", "nothing.pdf"), PDF, ".pdf", touches=("open",)),
    # -- a document that is not what its name says
    Case("pdf-that-is-text", DOCUMENT, ("is not a PDF",), TEXT, ".pdf", touches=("open",)),
    Case("pdf-that-is-a-png", DOCUMENT, ("is not a PDF",),
         b"\x89PNG\r\n\x1a\n" + bytes(64), ".pdf", touches=("open",)),
    Case("png-that-is-a-pdf", DOCUMENT, ("is not a PNG",), PDF, ".png", touches=("open",)),
    Case("jpeg-that-is-an-executable", DOCUMENT, ("is not a JPEG",),
         b"\x7fELF\x02\x01\x01" + bytes(64), ".jpg", touches=("open",)),
    Case("name-says-pdf-file-is-text", (*DOCUMENT, "--name", "lease.pdf"), ("is not a PDF",),
         TEXT, ".txt", touches=("open",)),
    # -- sniffed by the library (rules/content.py): what it was found to be is named
    Case("pdf-that-is-an-executable", (*DOCUMENT, "--name", "lease.pdf"),
         ("'lease.pdf' is not a PDF", "executable program"), b"\x7fELF\x02\x01\x01" + bytes(64),
         ".pdf", touches=("open",)),
    Case("pdf-that-is-html", DOCUMENT, ("is not a PDF", "HTML"),
         b"<!DOCTYPE html><html><body>a lease</body></html>", ".pdf", touches=("open",)),
    Case("docx-that-is-a-zip", DOCUMENT, ("is not a Word document", "a ZIP archive"),
         ZIP, ".docx", touches=("open",)),
    Case("document-that-is-a-web-page", DOCUMENT, ("'file.html' is HTML", "a document must be"),
         b"<html><body>a lease</body></html>", ".html", touches=("open",)),
    Case("packet-with-a-bad-second-file",  # the first is a good PDF: neither is stored
         ("documents", "add", "{open}", "{file}", "/usr/bin/true", "--kind", "escrow_or_lease",
          "--kind", "report_card", "--name", "lease.pdf", "--name", "report-card.pdf",
          "--actor", "clerk"),
         ("'report-card.pdf' is not a PDF", "executable program"), PDF, ".pdf",
         touches=("open",)),
]
