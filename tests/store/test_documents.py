"""store/documents: what a handed-in file must be before it is read, and a store that leaves
nothing behind when it cannot write (docs/cross-cutting.md "Documents")."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest

from rules.errors import PolicyError
from store.documents import MAX_DOCUMENT_BYTES, read_upload
from tests.support.paths import ROOT

PDF = b"%PDF-1.4\n% a lease\n"


def test_a_link_is_refused_not_followed(tmp_path: Path) -> None:
    secret = tmp_path / "passwd"
    secret.write_bytes(b"root:x:0:0:root:/root:/bin/bash\n")
    link = tmp_path / "lease.pdf"
    link.symlink_to(secret)
    with pytest.raises(PolicyError, match="is a link: give the file itself"):
        read_upload(link)
    assert read_upload(secret).startswith(b"root:")  # the file itself is read


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
        read_upload(path)


def test_the_size_is_checked_before_reading(tmp_path: Path) -> None:
    huge = tmp_path / "huge.pdf"
    with huge.open("wb") as file:
        file.truncate(1024**3)  # a sparse gibibyte: no disk, but reading it takes the memory
    tracemalloc.start()
    try:
        with pytest.raises(PolicyError, match=f"larger than {MAX_DOCUMENT_BYTES} bytes"):
            read_upload(huge)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1024 * 1024  # refused by its size, not read


def test_the_limit_is_the_last_byte_allowed(tmp_path: Path) -> None:
    at = tmp_path / "at.pdf"
    over = tmp_path / "over.pdf"
    for path, size in ((at, MAX_DOCUMENT_BYTES), (over, MAX_DOCUMENT_BYTES + 1)):
        with path.open("wb") as file:
            file.write(PDF)
            file.truncate(size)
    assert len(read_upload(at)) == MAX_DOCUMENT_BYTES
    with pytest.raises(PolicyError, match="larger than"):
        read_upload(over)


def test_a_full_disk_leaves_no_half_written_document(tmp_path: Path) -> None:
    """A real write failure: the process may write files of at most 64 KiB (RLIMIT_FSIZE),
    so storing a larger document fails the way a full disk does."""
    store = tmp_path / "documents"
    script = f"""
import resource, signal
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails with EFBIG instead
resource.setrlimit(resource.RLIMIT_FSIZE, (65536, 65536))
from pathlib import Path
from rules.errors import PolicyError
from store.documents import DocumentStore
store = DocumentStore(Path({str(store)!r}))
try:
    store.put("lease.pdf", {PDF!r} + bytes(200_000))
except PolicyError as error:
    print(error)
store.put("small.pdf", {PDF!r})
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            cwd=ROOT, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert "could not be stored: File too large" in result.stdout
    left = sorted(p.name for p in store.rglob("*") if p.is_file())
    assert left == [hashlib.sha256(PDF).hexdigest()]  # the small one, and nothing else
