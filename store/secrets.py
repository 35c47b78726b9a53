"""The deployment's own secrets, made on first use and shared by every process through the
records store: the worker, the CLI and the web on other machines read the same one."""

from __future__ import annotations

import secrets

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError

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
