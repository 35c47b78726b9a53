"""intake/ids: a request id holds the student's id only through a keyed hash, under a key the
deployment makes once and keeps in the records store (docs/cross-cutting.md "Request ids")."""

from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy import Engine

from intake.ids import ID_KEY, request_id_base
from store.engine import make_engine
from store.secrets import secret
from tests.support.races import at_once

STUDENT = "S100234"


def test_a_student_id_cannot_be_recovered_from_a_request_id_by_trying_them_all(
    store_engine: Engine,
) -> None:
    request_id = request_id_base(store_engine, "paramount", "2027-2028", "out", STUDENT)
    assert request_id.startswith("paramount-2027-2028-out-") and STUDENT not in request_id
    digest = request_id.rsplit("-", 1)[1]
    # What an attacker tries: every student id through the unkeyed hash the ids used to be.
    unkeyed = {hashlib.sha256(f"paramount:S{n}".encode()).hexdigest()[:12]: f"S{n}"
               for n in range(100_000, 101_000)}
    assert unkeyed[hashlib.sha256(f"paramount:{STUDENT}".encode()).hexdigest()[:12]] == STUDENT
    assert digest not in unkeyed  # the id's hash is keyed: trying them all finds nothing


def test_the_key_is_made_once_and_every_process_shares_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'records.sqlite3'}"
    one, other = make_engine(url), make_engine(url)  # two processes on one store
    first = request_id_base(one, "paramount", "2027-2028", "out", STUDENT)
    assert request_id_base(other, "paramount", "2027-2028", "out", STUDENT) == first
    elsewhere = make_engine(f"sqlite:///{tmp_path / 'another.sqlite3'}")  # another deployment
    assert request_id_base(elsewhere, "paramount", "2027-2028", "out", STUDENT) != first
    assert len(secret(one, ID_KEY)) == 32


def test_processes_making_the_key_at_once_all_get_the_same_one(store_engine: Engine) -> None:
    keys, errors = at_once([lambda: secret(store_engine, "a-new-secret")] * 6)
    assert errors == [] and len(set(keys)) == 1 and len(keys[0]) == 32
