"""Request ids: derived from the district, the school year, the process and the student, so
a duplicate cannot start; the student's id enters only through a keyed hash (FERPA): without
the deployment's key, kept in the records store, a student id cannot be recovered from a
request id by trying them all (docs/cross-cutting.md "Request ids")."""

from __future__ import annotations

import hashlib
import hmac

from sqlalchemy import Engine

from store import records
from store.secrets import secret

ID_KEY = "request-ids"  # the secret's name in the records store


def request_id_base(
    engine: Engine, district: str, school_year: str, process: str, student_id: str
) -> str:
    """Derived from district, student, process and school year, so a duplicate cannot
    start; the student's id enters only as an HMAC under the deployment's key."""
    key = secret(engine, ID_KEY)
    student = hmac.new(key, f"{district}:{student_id}".encode(), hashlib.sha256).hexdigest()
    return f"{district}-{school_year}-{process}-{student[:12]}"


def next_free_id(engine: Engine, base: str) -> str:
    """``base``, or ``base-N`` after the closed earlier requests of the same student and year."""
    taken = set(records.request_ids_like(engine, base))
    request_id, n = base, 1
    while request_id in taken:
        n += 1
        request_id = f"{base}-{n}"
    return request_id
