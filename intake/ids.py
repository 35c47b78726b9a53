"""Request ids: derived from the district, the school year, the process and the student, so
a duplicate cannot start; the student's id enters only as a hash (FERPA)."""

from __future__ import annotations

import hashlib

from sqlalchemy import Engine

from store import records


def request_id_base(district: str, school_year: str, process: str, student_id: str) -> str:
    """Derived from district, student, process and school year, so a duplicate cannot
    start; the student's id enters only as a hash, keeping it out of workflow ids (FERPA)."""
    student = hashlib.sha256(f"{district}:{student_id}".encode()).hexdigest()
    return f"{district}-{school_year}-{process}-{student[:12]}"


def next_free_id(engine: Engine, base: str) -> str:
    """``base``, or ``base-N`` after the closed earlier requests of the same student and year."""
    taken = set(records.request_ids_like(engine, base))
    request_id, n = base, 1
    while request_id in taken:
        n += 1
        request_id = f"{base}-{n}"
    return request_id
