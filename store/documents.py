"""Documents, stored content-addressed: ``<root>/<sha256[:2]>/<sha256>``.

The stored path depends only on the content's hash, so a document's name never becomes a
path; still, a name that tries to leave the store (a path, ``..``, a drive) is refused,
because such a name is either a mistake or an attack and staff should hear about it.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from rules.documents import check_document_name
from rules.errors import PolicyError

MAX_DOCUMENT_BYTES = 25 * 1024 * 1024


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
            target.parent.mkdir(parents=True, exist_ok=True)
            temporary = target.with_name(f".{digest}.{os.getpid()}.tmp")
            temporary.write_bytes(content)
            temporary.replace(target)
        return StoredDocument(name=name, sha256=digest, size=len(content))

    def get(self, sha256: str) -> bytes:
        return self.path_of(sha256).read_bytes()
