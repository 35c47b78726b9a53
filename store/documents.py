"""Documents, stored content-addressed: ``<root>/<sha256[:2]>/<sha256>``.

The stored path depends only on the content's hash, so a document's name never becomes a
path; still, a name that tries to leave the store (a path, ``..``, a drive) is refused,
because such a name is either a mistake or an attack and staff should hear about it.

A document is streamed in, never held whole in memory (docs/cross-cutting.md "Documents"):
its first chunk is checked before anything is written, then it is copied chunk by chunk into
a temporary file in the store's folder, hashed and counted as it goes, and renamed into place
by its hash only when every document of the action has been copied. Any failure removes what
was copied.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from rules.content import check_document_content
from rules.documents import check_document_name
from rules.errors import PolicyError
from store.uploads import MAX_DOCUMENT_BYTES, open_upload

CHUNK_BYTES = 1024 * 1024  # what is in memory at once, and what the content check sees

__all__ = ["CHUNK_BYTES", "MAX_DOCUMENT_BYTES", "DocumentStore", "Staged", "StoredDocument"]


@dataclass(frozen=True)
class StoredDocument:
    name: str
    sha256: str
    size: int


@dataclass(frozen=True)
class Staged:
    """A document copied, checked and hashed under a temporary name, not yet in place."""

    document: StoredDocument
    temporary: Path
    target: Path


class DocumentStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path_of(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def put_files(self, files: Sequence[tuple[str, Path]]) -> list[StoredDocument]:
        """Store each ``(name, path)``, all or none: every file is opened (a regular file,
        not too big), checked against its name and copied in before any is placed, so a bad
        second file leaves the first unstored too."""
        staged: list[Staged] = []
        try:
            for name, path in files:
                check_document_name(name)  # before the file is opened
                with open_upload(path, MAX_DOCUMENT_BYTES) as source:
                    staged.append(self.stage(name, source, check_document_content))
        except BaseException:
            self.discard(staged)
            raise
        return self.place(staged)

    def put(self, name: str, content: bytes) -> StoredDocument:
        """Content already in memory (tools, tests): stored the same way, its kind unchecked."""
        return self.place([self.stage(name, io.BytesIO(content))])[0]

    def stage(
        self, name: str, source: BinaryIO, check: Callable[[str, bytes], object] | None = None
    ) -> Staged:
        """Copy ``source`` into a temporary file in the store's folder. ``check`` sees the
        first chunk before anything is written; the size is enforced as the copy goes (a file
        may grow after its size was checked). On any failure the temporary file is removed."""
        check_document_name(name)
        chunk = _read(source, name)
        if not chunk:
            raise PolicyError(f"document {name!r} is empty")
        if check is not None:
            check(name, chunk)
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            descriptor, temporary_name = tempfile.mkstemp(
                dir=self.root, prefix=".upload-", suffix=".tmp")
        except OSError as error:
            raise PolicyError(f"document {name!r} could not be stored: {error.strerror}") from None
        temporary = Path(temporary_name)
        try:
            digest, size = hashlib.sha256(), 0
            with os.fdopen(descriptor, "wb") as out:
                while chunk:
                    size += len(chunk)
                    if size > MAX_DOCUMENT_BYTES:
                        raise PolicyError(
                            f"document {name!r} is larger than {MAX_DOCUMENT_BYTES} bytes")
                    digest.update(chunk)
                    out.write(chunk)
                    chunk = _read(source, name)
                out.flush()
                os.fsync(out.fileno())  # on disk before the rename makes it the document
        except OSError as error:  # a full disk, a quota
            temporary.unlink(missing_ok=True)
            raise PolicyError(f"document {name!r} could not be stored: {error.strerror}") from None
        except BaseException:  # too big, unreadable, interrupted
            temporary.unlink(missing_ok=True)
            raise
        sha256 = digest.hexdigest()
        return Staged(StoredDocument(name, sha256, size), temporary, self.path_of(sha256))

    def place(self, staged: Sequence[Staged]) -> list[StoredDocument]:
        """Rename each staged copy to its hash's path (within one file system: atomic). The
        same content already there is kept, and the copy dropped."""
        try:
            for each in staged:
                if each.target.exists():
                    each.temporary.unlink()
                    continue
                each.target.parent.mkdir(exist_ok=True)  # only now: a refusal leaves no folder
                each.temporary.replace(each.target)
        except OSError as error:
            self.discard(staged)  # those not yet placed; a placed one is whole, unreferenced
            raise PolicyError(f"documents could not be stored: {error.strerror}") from None
        return [each.document for each in staged]

    def discard(self, staged: Sequence[Staged]) -> None:
        for each in staged:
            each.temporary.unlink(missing_ok=True)

    def get(self, sha256: str) -> bytes:
        return self.path_of(sha256).read_bytes()


def _read(source: BinaryIO, name: str) -> bytes:
    """The next chunk of ``source``; a failing read (an I/O error, a file gone from under a
    network mount) refuses the document."""
    try:
        return source.read(CHUNK_BYTES) or b""
    except OSError as error:
        raise PolicyError(
            f"document {name!r} could not be read: {error.strerror or error}") from None
