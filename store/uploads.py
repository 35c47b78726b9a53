"""A file a person hands in, opened only if it is a regular file of at most
``MAX_DOCUMENT_BYTES`` (docs/cross-cutting.md "Documents"). Nothing is read here: the
document store streams it (store/documents.py)."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import BinaryIO

from rules.errors import PolicyError

MAX_DOCUMENT_BYTES = 25 * 1024 * 1024


def open_upload(path: Path, limit: int = MAX_DOCUMENT_BYTES) -> BinaryIO:
    """``path`` opened for reading, unbuffered. A link is refused, not followed (a link to
    /etc/passwd would store it), and so is a device, a pipe or a folder (/dev/zero never
    ends); the size is checked before a byte is read. The caller closes the file."""
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
    if info.st_size > limit:
        os.close(descriptor)
        raise PolicyError(f"document {path.name!r} is larger than {limit} bytes")
    return os.fdopen(descriptor, "rb", buffering=0)
