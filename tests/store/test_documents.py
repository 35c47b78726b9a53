"""store/documents and store/uploads: what a handed-in file must be before it is read, a
document streamed in bounded memory, and a store that leaves nothing behind when it refuses or
cannot write (docs/cross-cutting.md "Documents"). Real files on disk; the store's folder is
listed after every refusal."""

from __future__ import annotations

import errno
import hashlib
import os
import re
import subprocess
import sys
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import pytest

from rules.content import check_document_content
from rules.errors import PolicyError
from store.documents import CHUNK_BYTES, MAX_DOCUMENT_BYTES, DocumentStore, StoredDocument
from store.uploads import open_upload
from tests.support.paths import ROOT

PDF = b"%PDF-1.4\n% a lease\n"
ELF = b"\x7fELF\x02\x01\x01\x00" + bytes(64)
HTML = b"<!DOCTYPE html>\n<html><body>a lease</body></html>\n"
ZIP = b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(64)


def left_in(folder: Path) -> list[str]:
    """Everything under the store's folder, folders and hidden temporary files included."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.exists() else []


def sparse(path: Path, size: int, head: bytes = PDF) -> Path:
    """A file of ``size`` bytes that takes no disk: ``head``, then a hole."""
    with path.open("wb") as file:
        file.write(head)
        file.truncate(size)
    return path


def peak_while(action: Callable[[], object]) -> int:
    """The most memory Python held at once while ``action`` ran."""
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


# ---- what a handed-in file must be -----------------------------------------------------------


def test_a_link_is_refused_not_followed(tmp_path: Path) -> None:
    secret = tmp_path / "passwd"
    secret.write_bytes(b"root:x:0:0:root:/root:/bin/bash\n")
    link = tmp_path / "lease.pdf"
    link.symlink_to(secret)
    with pytest.raises(PolicyError, match="is a link: give the file itself"):
        open_upload(link)
    store = DocumentStore(tmp_path / "documents")
    with pytest.raises(PolicyError, match="is a link: give the file itself"):
        store.put_files([("lease.pdf", link)])
    assert left_in(store.root) == []
    with open_upload(secret) as file:
        assert file.read().startswith(b"root:")  # the file itself is read


@pytest.mark.parametrize("make", ["device", "pipe", "folder"])
def test_a_device_a_pipe_or_a_folder_is_refused_without_reading(
    tmp_path: Path, make: str
) -> None:
    if make == "device":
        path = Path("/dev/zero")  # it never ends: reading it would exhaust the memory
    elif make == "pipe":
        path = tmp_path / "pipe.pdf"
        os.mkfifo(path)  # nobody writes: opening it must not wait
    else:
        path = tmp_path / "folder.pdf"
        path.mkdir()
    with pytest.raises(PolicyError, match="is not a regular file"):
        open_upload(path)


def test_the_size_is_checked_before_reading(tmp_path: Path) -> None:
    huge = sparse(tmp_path / "huge.pdf", 1024**3)  # a gibibyte: no disk, but reading takes it
    store = DocumentStore(tmp_path / "documents")

    def store_it() -> None:
        with pytest.raises(PolicyError, match=f"'huge.pdf' is larger than {MAX_DOCUMENT_BYTES}"):
            store.put_files([("huge.pdf", huge)])

    assert peak_while(store_it) < 256 * 1024  # refused by its size, not a chunk read
    assert left_in(store.root) == []


def test_the_limit_is_the_last_byte_allowed(tmp_path: Path) -> None:
    at = sparse(tmp_path / "at.pdf", MAX_DOCUMENT_BYTES)
    over = sparse(tmp_path / "over.pdf", MAX_DOCUMENT_BYTES + 1)
    store = DocumentStore(tmp_path / "documents")
    with pytest.raises(PolicyError, match="larger than"):
        store.put_files([("over.pdf", over)])
    assert left_in(store.root) == []
    [stored] = store.put_files([("at.pdf", at)])
    assert stored.size == MAX_DOCUMENT_BYTES


# ---- streamed in -----------------------------------------------------------------------------


def test_a_document_just_under_the_cap_is_streamed_in_bounded_memory(tmp_path: Path) -> None:
    """Accepted, and never more than a few chunks in memory: reading it whole would hold
    25 MiB. The stored copy is the file, byte for byte."""
    path = sparse(tmp_path / "lease.pdf", MAX_DOCUMENT_BYTES - 1)
    store = DocumentStore(tmp_path / "documents")
    stored: list[StoredDocument] = []
    peak = peak_while(lambda: stored.extend(store.put_files([("lease.pdf", path)])))
    assert peak < 3 * CHUNK_BYTES < MAX_DOCUMENT_BYTES // 8, peak
    expected = hashlib.sha256(path.read_bytes()).hexdigest()
    assert stored == [StoredDocument("lease.pdf", expected, MAX_DOCUMENT_BYTES - 1)]
    assert left_in(store.root) == [expected[:2], f"{expected[:2]}/{expected}"]
    assert hashlib.sha256(store.path_of(expected).read_bytes()).hexdigest() == expected


def test_a_file_that_grows_past_the_cap_while_read_is_refused_and_leaves_nothing(
    tmp_path: Path
) -> None:
    """Its size was under the cap when it was opened; it grew before the copy ended. Chunks
    had been written by then: the temporary file goes too."""
    path = sparse(tmp_path / "lease.pdf", MAX_DOCUMENT_BYTES - 1)
    store = DocumentStore(tmp_path / "documents")
    with open_upload(path) as source:
        os.truncate(path, MAX_DOCUMENT_BYTES + CHUNK_BYTES)  # another process appends
        with pytest.raises(PolicyError, match=f"'lease.pdf' is larger than {MAX_DOCUMENT_BYTES}"):
            store.stage("lease.pdf", source, check_document_content)
    assert store.root.exists()  # the copy had begun in the store's folder
    assert left_in(store.root) == []


@pytest.mark.parametrize(("content", "found"), [
    (ELF, "an executable program (ELF)"),
    (HTML, "HTML (a web page)"),
    (ZIP, "a ZIP archive"),
], ids=["executable", "html", "zip"])
def test_content_that_is_not_what_its_name_says_is_refused_before_anything_is_written(
    tmp_path: Path, content: bytes, found: str
) -> None:
    path = tmp_path / "upload"
    path.write_bytes(content)
    store = DocumentStore(tmp_path / "documents")
    refusal = rf"'lease.pdf' is not a PDF, as its name says: it is {re.escape(found)}"
    with pytest.raises(PolicyError, match=refusal):
        store.put_files([("lease.pdf", path)])
    assert not store.root.exists()  # checked on the first chunk: not even a temporary file


def test_an_empty_file_is_refused_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "lease.pdf"
    path.write_bytes(b"")
    store = DocumentStore(tmp_path / "documents")
    with pytest.raises(PolicyError, match="document 'lease.pdf' is empty"):
        store.put_files([("lease.pdf", path)])
    assert left_in(store.root) == []


class FailsAfterFirstChunk:
    """A real file whose second read fails as a failing disk's does (EIO): the read error
    comes after the first chunk was written to the store. Only the input is made to fail;
    the store's folder is the real one."""

    def __init__(self, source: BinaryIO) -> None:
        self.source, self.reads = source, 0

    def read(self, size: int = -1) -> bytes:
        self.reads += 1
        if self.reads > 1:
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        return self.source.read(size)


def test_a_read_error_midway_leaves_nothing(tmp_path: Path) -> None:
    path = sparse(tmp_path / "lease.pdf", 3 * CHUNK_BYTES)
    store = DocumentStore(tmp_path / "documents")
    with open_upload(path) as file:
        source = FailsAfterFirstChunk(file)
        with pytest.raises(PolicyError, match="'lease.pdf' could not be read: Input/output"):
            store.stage("lease.pdf", source, check_document_content)  # type: ignore[arg-type]
    assert source.reads == 2
    assert store.root.exists() and left_in(store.root) == []


def test_a_file_that_vanishes_is_refused_before_opening_and_whole_after(tmp_path: Path) -> None:
    store = DocumentStore(tmp_path / "documents")
    gone = tmp_path / "gone.pdf"
    with pytest.raises(PolicyError, match="cannot read .*gone.pdf: No such file"):
        store.put_files([("gone.pdf", gone)])
    assert left_in(store.root) == []
    path = sparse(tmp_path / "lease.pdf", 2 * CHUNK_BYTES + 5)
    expected = hashlib.sha256(path.read_bytes()).hexdigest()
    with open_upload(path) as source:
        path.unlink()  # deleted while open: the open file still reads whole
        staged = store.stage("lease.pdf", source, check_document_content)
    assert store.place([staged])[0].sha256 == expected


# ---- a packet: all or nothing ----------------------------------------------------------------


@pytest.mark.parametrize("second", ["executable", "too big", "missing", "link", "empty"])
def test_a_packet_whose_second_file_is_bad_stores_nothing(tmp_path: Path, second: str) -> None:
    first = tmp_path / "lease.pdf"
    first.write_bytes(PDF)
    bad = tmp_path / "report-card.pdf"
    if second == "executable":
        bad.write_bytes(ELF)
    elif second == "too big":
        sparse(bad, MAX_DOCUMENT_BYTES + 1)
    elif second == "link":
        bad.symlink_to(first)
    elif second == "empty":
        bad.write_bytes(b"")
    store = DocumentStore(tmp_path / "documents")
    with pytest.raises(PolicyError, match="report-card.pdf"):
        store.put_files([("lease.pdf", first), ("report-card.pdf", bad)])
    assert left_in(store.root) == []  # the first, checked and copied, was not kept either
    [stored] = store.put_files([("lease.pdf", first)])  # and the first alone is stored
    assert left_in(store.root) == [stored.sha256[:2], f"{stored.sha256[:2]}/{stored.sha256}"]


def test_a_packet_that_passes_is_placed_whole_and_same_content_once(tmp_path: Path) -> None:
    lease, copy, photo = tmp_path / "lease.pdf", tmp_path / "copy.pdf", tmp_path / "photo.jpg"
    lease.write_bytes(PDF)
    copy.write_bytes(PDF)
    photo.write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(64))
    store = DocumentStore(tmp_path / "documents")
    stored = store.put_files([("lease.pdf", lease), ("copy.pdf", copy), ("photo.jpg", photo)])
    assert [s.name for s in stored] == ["lease.pdf", "copy.pdf", "photo.jpg"]
    assert stored[0].sha256 == stored[1].sha256
    files = [p for p in left_in(store.root) if "/" in p]
    assert sorted(files) == sorted(f"{s.sha256[:2]}/{s.sha256}" for s in stored[1:])


def test_a_full_disk_leaves_no_half_written_document(tmp_path: Path) -> None:
    """A real write failure: the process may write files of at most 64 KiB (RLIMIT_FSIZE),
    so storing a larger document fails the way a full disk does."""
    store = tmp_path / "documents"
    big = sparse(tmp_path / "big.pdf", 3 * CHUNK_BYTES)
    small = tmp_path / "small.pdf"
    small.write_bytes(PDF)
    script = f"""
import resource, signal
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails with EFBIG instead
resource.setrlimit(resource.RLIMIT_FSIZE, (65536, 65536))
from pathlib import Path
from rules.errors import PolicyError
from store.documents import DocumentStore
store = DocumentStore(Path({str(store)!r}))
for files in ([("big.pdf", Path({str(big)!r}))], [("small.pdf", Path({str(small)!r}))]):
    try:
        store.put_files(files)
    except PolicyError as error:
        print(error)
try:
    store.put("lease.pdf", {PDF!r} + bytes(200_000))
except PolicyError as error:
    print(error)
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            cwd=ROOT, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "document 'big.pdf' could not be stored: File too large",
        "document 'lease.pdf' could not be stored: File too large",
    ]
    digest = hashlib.sha256(PDF).hexdigest()
    assert left_in(store) == [digest[:2], f"{digest[:2]}/{digest}"]  # the small one only
