"""The records database's schema revision (`store.migrate`): bring it to the code's head,
or say where it stands. `upgrade` is, with the worker, what makes a records store: nothing
else here creates one (docs/cross-cutting.md "Settings")."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from app import context
from app.errors import Refused
from store import migrate
from store.engine import open_engine


def _open() -> Engine:
    # As it is: no implicit creation, so `upgrade` reports what it did itself.
    return open_engine(context.settings().database_url)


def _unreachable(engine: Engine, error: OperationalError) -> Refused:
    where = migrate.display_url(engine.url)
    return Refused(f"cannot open the records database at {where}: {error.orig}")


def upgrade() -> str:
    """Apply the missing migrations (safe twice, and while another process does it); what
    was done, in a sentence."""
    engine = _open()
    try:
        done = migrate.upgrade(engine)
        where = migrate.status(engine).where
    except migrate.DatabaseNotCurrent as error:
        raise Refused(str(error)) from None
    except OperationalError as error:
        raise _unreachable(engine, error) from None
    finally:
        engine.dispose()
    if not done.changed:
        return f"the records database at {where} is already at {done.after} (head)"
    before = done.before or "none (empty)"
    if done.adopted:
        before = f"{done.before} (tables made before migrations, recorded as {done.before})"
    return f"upgraded the records database at {where} from {before} to {done.after} (head)"


@dataclass
class Revision:
    """Where the database stands: ``current`` when at the code's head."""

    current: bool
    text: str


def current() -> Revision:
    """The database's revision and whether it is the code's head."""
    url = context.settings().database_url
    parsed = make_url(url)
    file = parsed.database if parsed.get_backend_name() == "sqlite" else None
    if file and file != ":memory:" and not Path(file).exists():  # look, without creating it
        head = migrate.head_revision()
        return Revision(False, f"none: no records database at {file}; the code needs {head}: "
                               f"run `{migrate.UPGRADE_COMMAND}` (or start the worker)")
    engine = _open()
    try:
        found = migrate.status(engine)
    except OperationalError as error:
        raise _unreachable(engine, error) from None
    finally:
        engine.dispose()
    if found.state == "current":
        return Revision(True, f"{found.current} (head) at {found.where}")
    return Revision(False, f"{found.current or 'none'}: {found.message}")


def rotate_proof_key() -> str:
    """Make a new key for proofs and retire the one signing now (docs/cross-cutting.md
    "Proofs"); what was done, in a sentence."""
    from infra.proofs import SigningKey  # JOSE and the keys: for this command only
    from store.secrets import proof_keys
    from store.secrets import rotate_proof_key as rotate_proof_key_in

    engine = context.engine()
    before = SigningKey.from_seed(proof_keys(engine)[-1].seed).kid
    after = SigningKey.from_seed(rotate_proof_key_in(engine).seed).kid
    return (f"proofs are signed with key {after} from now on; {before} is retired and still "
            "verifies what it signed before (workers learn the new key within 30 seconds)")
