"""The deployment's own secrets, made on first use and shared by every process through the
records store: the worker, the CLI and the web on other machines read the same one."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import IntegrityError

from infra.proofs import SigningKey, TrustedKey
from store.schema import SecretRow


def secret(engine: Engine, name: str) -> bytes:
    """The secret ``name`` (32 random bytes), made now if there is none: of two processes
    making it at once, both get the one stored first."""
    with engine.connect() as connection:
        value = connection.execute(select(SecretRow.value).filter_by(name=name)).scalar()
    if value is None:
        try:
            with engine.begin() as connection:
                connection.execute(SecretRow.__table__.insert().values(
                    name=name, value=secrets.token_hex(32)))
        except IntegrityError:
            pass  # another process made it first
        with engine.connect() as connection:
            value = connection.execute(
                select(SecretRow.value).filter_by(name=name)).scalar_one()
    return bytes.fromhex(value)


# ---- the keys proofs are signed with (infra.proofs; docs/cross-cutting.md "Proofs") ------

_KEY, _MADE, _RETIRED = "proof-key:", "proof-key-made:", "proof-key-retired:"


@dataclass(frozen=True)
class StoredKey:
    """One of the deployment's proof keys: its place in the order they were made, its private
    seed, when it was made and when it stopped signing."""

    number: int
    seed: bytes
    made_at: datetime
    retired_at: datetime | None


def _put(connection: Connection, name: str, value: str) -> None:
    connection.execute(SecretRow.__table__.insert().values(name=name, value=value))


def proof_keys(engine: Engine) -> list[StoredKey]:
    """Every proof key, oldest first; the first is made now if there is none (of two processes
    making it at once, both get the one stored first)."""
    keys = _read_keys(engine)
    if not keys:
        try:
            with engine.begin() as connection:
                _put(connection, f"{_KEY}1", secrets.token_hex(32))
                _put(connection, f"{_MADE}1", datetime.now(UTC).isoformat())
        except IntegrityError:
            pass  # another process made it first
        keys = _read_keys(engine)
    return keys


def rotate_proof_key(engine: Engine) -> StoredKey:
    """Make a new proof key and retire the one signing now: it still verifies what it signed,
    nothing signed after this."""
    now = datetime.now(UTC)
    current = proof_keys(engine)[-1]
    number = current.number + 1
    with engine.begin() as connection:
        _put(connection, f"{_KEY}{number}", secrets.token_hex(32))
        _put(connection, f"{_MADE}{number}", now.isoformat())
        _put(connection, f"{_RETIRED}{current.number}", now.isoformat())
    return _read_keys(engine)[-1]


def _read_keys(engine: Engine) -> list[StoredKey]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(SecretRow.name, SecretRow.value).where(SecretRow.name.like("proof-key%"))
        ).all()
    found = dict(rows)
    keys = []
    for name, value in found.items():
        if not name.startswith(_KEY):
            continue
        number = name.removeprefix(_KEY)
        retired = found.get(f"{_RETIRED}{number}")
        keys.append(StoredKey(
            int(number), bytes.fromhex(value), datetime.fromisoformat(found[f"{_MADE}{number}"]),
            datetime.fromisoformat(retired) if retired else None,
        ))
    return sorted(keys, key=lambda key: key.number)


def trusted_keys(engine: Engine) -> list[TrustedKey]:
    """The public halves of every proof key, as workflows verify with them."""
    return [SigningKey.from_seed(key.seed).trusted(key.retired_at) for key in proof_keys(engine)]
