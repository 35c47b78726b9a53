"""Documents, stored content-addressed: ``<root>/<sha256[:2]>/<sha256>``.

The stored path depends only on the content's hash, so a document's name never becomes a
path; still, a name that tries to leave the store (a path, ``..``, a drive) is refused,
because such a name is either a mistake or an attack and staff should hear about it.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from rules.documents import check_document_name
from rules.errors import PolicyError

MAX_DOCUMENT_BYTES = 25 * 1024 * 1024
CHUNK_BYTES = 1024 * 1024


def read_upload(path: Path) -> bytes:
    """The content of a file a person hands in, read only if it is a regular file of at most
    ``MAX_DOCUMENT_BYTES`` (docs/cross-cutting.md "Documents"): a link is refused, not followed
    (a link to /etc/passwd would store it), and so is a device, a pipe or a folder (/dev/zero
    never ends); the size is checked before reading, and reading stops at the limit."""
    try:
        if path.is_symlink():
            raise PolicyError(f"{path} is a link: give the file itself")
        # O_NOFOLLOW: a link swapped in after the check is refused too; O_NONBLOCK: opening a
        # pipe does not wait for a writer.
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise PolicyError(f"{path} is a link: give the file itself") from None
        raise PolicyError(f"cannot read {path}: {error.strerror}") from None
    info = os.fstat(descriptor)
    if not stat.S_ISREG(info.st_mode):
        os.close(descriptor)
        raise PolicyError(f"{path} is not a regular file (a folder, a device or a pipe)")
    with os.fdopen(descriptor, "rb", buffering=0) as file:
        if info.st_size > MAX_DOCUMENT_BYTES:
            raise PolicyError(f"document {path.name!r} is larger than {MAX_DOCUMENT_BYTES} bytes")
        chunks, size = [], 0
        while chunk := file.read(CHUNK_BYTES):
            size += len(chunk)
            if size > MAX_DOCUMENT_BYTES:  # it grew while being read
                raise PolicyError(
                    f"document {path.name!r} is larger than {MAX_DOCUMENT_BYTES} bytes")
            chunks.append(chunk)
    return b"".join(chunks)


@dataclass(frozen=True)
class StoredDocument:
    name: str
    sha256: str
    size: int


class DocumentStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path_of(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def put(self, name: str, content: bytes) -> StoredDocument:
        check_document_name(name)
        if not content:
            raise PolicyError(f"document {name!r} is empty")
        if len(content) > MAX_DOCUMENT_BYTES:
            raise PolicyError(f"document {name!r} is larger than {MAX_DOCUMENT_BYTES} bytes")
        digest = hashlib.sha256(content).hexdigest()
        target = self.path_of(digest)
        if not target.exists():
            temporary = target.with_name(f".{digest}.{os.getpid()}.tmp")
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                temporary.write_bytes(content)
                temporary.replace(target)
            except OSError as error:  # a full disk, a quota: nothing half-written is left
                temporary.unlink(missing_ok=True)
                raise PolicyError(
                    f"document {name!r} could not be stored: {error.strerror}") from None
        return StoredDocument(name=name, sha256=digest, size=len(content))

    def get(self, sha256: str) -> bytes:
        return self.path_of(sha256).read_bytes()
