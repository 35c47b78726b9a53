"""Finding a request as staff look for one (docs/cross-cutting.md "Worklist and search"): by
the student's name or id, the parent's name or address, the request's id or its permit's,
case and accents ignored ("jose" finds "José"), in the person's own district(s) only. Each
word of the text must be found, in any field and any order ("garcia jose" finds "José
García")."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date

from sqlalchemy import desc, select
from sqlalchemy.orm import Session

from app import context
from app.errors import Refused
from app.principal import Principal
from app.staff_districts import staff_districts
from store.read_model import fold
from store.schema import RequestRow

MAX_LENGTH = 200  # longer than any name, address or id
MAX_WORDS = 8
DEFAULT_LIMIT = 50


@dataclass(frozen=True)
class Found:
    id: str
    district: str
    process: str  # interdistrict | within
    stage: str
    is_open: bool
    school_year: str
    student_name: str
    student_id: str
    school: str | None
    next_due: date | None
    next_kind: str | None


def words(text: str) -> list[str]:
    """The folded words of a search, or a refusal that says what is wrong with it."""
    if any(unicodedata.category(c).startswith("C") for c in text):
        raise Refused("the search text holds control characters: give a name, a student "
                      "id, an address or a request or permit id")
    if len(text) > MAX_LENGTH:
        raise Refused(f"the search text is {len(text)} characters long: at most {MAX_LENGTH}")
    found = fold(text).split()
    if not found:
        raise Refused("nothing to search for: give a name, a student id, an address or a "
                      "request or permit id")
    if len(found) > MAX_WORDS:
        raise Refused(f"the search text has {len(found)} words: at most {MAX_WORDS}")
    return found


def _like(word: str) -> str:
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def find(principal: Principal, text: str, limit: int = DEFAULT_LIMIT) -> list[Found]:
    """The requests of the principal's district(s) that every word of ``text`` is found in,
    open ones first, then the newest."""
    wanted = words(text)
    if not 1 <= limit <= 1000:
        raise Refused(f"limit {limit}: from 1 to 1000")
    districts = [d.config.id for d in staff_districts(principal)]
    # First the ids, from the search index alone (store/schema.py: it covers this query);
    # then those few rows.
    matching = (
        select(RequestRow.id)
        .where(RequestRow.district.in_(districts),
               *(RequestRow.search.like(_like(w), escape="\\") for w in wanted))
        .order_by(desc(RequestRow.is_open), desc(RequestRow.received_at), RequestRow.id)
        .limit(limit)
    )
    with Session(context.engine()) as session:
        ids = session.execute(matching).scalars().all()
        found = {r.id: r for r in session.execute(
            select(RequestRow.id, RequestRow.district, RequestRow.direction, RequestRow.stage,
                   RequestRow.is_open, RequestRow.school_year, RequestRow.student_name,
                   RequestRow.student_id, RequestRow.school, RequestRow.next_due,
                   RequestRow.next_kind)
            .where(RequestRow.id.in_(ids))
        ).all()} if ids else {}
    rows = [found[i] for i in ids]
    return [
        Found(r.id, r.district, "within" if r.direction == "within" else "interdistrict",
              r.stage, r.is_open, r.school_year, r.student_name, r.student_id, r.school,
              r.next_due, r.next_kind)
        for r in rows
    ]
