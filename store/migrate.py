"""The records store's schema, managed by Alembic migrations (``store/migrations``), on
PostgreSQL and on the embedded SQLite default alike.

How a database reaches the code's schema:

- ``transfers db upgrade`` (`upgrade`) applies every missing revision, in one transaction
  under a lock: ``pg_advisory_xact_lock`` on PostgreSQL (one lock per database and schema),
  ``BEGIN IMMEDIATE`` on SQLite (its write lock on the file). Two processes at once: the
  second waits, then finds the database at head and does nothing; twice in a row: a no-op.
- A brand-new, empty database is created at head by `store.engine.make_engine` itself
  (`prepare`, the same migrations under the same lock): ``make run`` (``transfers dev``),
  ``transfers worker`` and the tests need no extra step, and a new SQLite file is at head.
- A database that already has a revision is never migrated implicitly. The worker refuses
  to start on one behind the code (`check_current`), with the command to run:
  "the records database at <url> is at revision X, the code needs Y: run `transfers db
  upgrade`". So the embedded default stays two commands: ``make run``, and after an upgrade
  of the code that brings a new revision, ``transfers db upgrade``.
- A database created by the code before migrations (the store's tables made with CREATE
  TABLE IF NOT EXISTS, no ``alembic_version`` table) counts as revision ``0001`` (BASELINE)
  when its tables are those of 0001 (same tables and columns, 0001's indexes present):
  `prepare` and `upgrade` stamp it, changing no table. When they are not, nothing touches it
  and the check says what differs.
- A database at a revision the code does not know (newer code migrated it) is refused too.

On PostgreSQL the tables live in the connection's current schema (the first schema of its
``search_path``: ``make_engine(url, schema=...)`` or ``options=-csearch_path=...`` in the
URL); the version table is pinned to that schema with ``version_table_schema``, so a
version table elsewhere on the search path is never taken for this one.

A new revision: change `store.schema`, then ``python -m store.migrate revision "what
changed"`` writes ``versions/NNNN_what_changed.py`` from the difference between the models
and a scratch database at head; review it (SQLite needs batch operations to alter tables:
``render_as_batch`` is on for it). `tests/store/test_migrations.py` fails while the models and
the migrations differ.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import URL, Connection, Engine, MetaData, create_engine, inspect, text

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
VERSION_TABLE = "alembic_version"
BASELINE = "0001"  # the schema of the code before migrations
UPGRADE_COMMAND = "transfers db upgrade"

State = Literal["current", "behind", "empty", "legacy", "mismatch", "unknown"]


class DatabaseNotCurrent(RuntimeError):
    """The records database is not at the code's revision; the message says what to do."""


@dataclass(frozen=True)
class Status:
    where: str  # the URL without its password (and the schema on PostgreSQL)
    current: str | None  # None: no revision recorded
    head: str
    state: State
    detail: str = ""  # legacy or mismatch: how the tables differ from BASELINE

    @property
    def message(self) -> str:
        at = f"the records database at {self.where}"
        match self.state:
            case "current":
                return f"{at} is at revision {self.head} (head)"
            case "behind":
                return (
                    f"{at} is at revision {self.current}, the code needs {self.head}: "
                    f"run `{UPGRADE_COMMAND}`"
                )
            case "empty":
                return (
                    f"{at} is at revision none (empty), the code needs {self.head}: "
                    f"run `{UPGRADE_COMMAND}`"
                )
            case "legacy":
                return (
                    f"{at} has the tables of revision {BASELINE} but no revision recorded, "
                    f"the code needs {self.head}: run `{UPGRADE_COMMAND}` (it records "
                    f"{BASELINE} and changes no table)"
                )
            case "mismatch":
                return (
                    f"{at} has tables of the records store but no revision recorded, and "
                    f"they are not those of revision {BASELINE} ({self.detail}): it was not "
                    "made by this code; nothing will change it until it is repaired or moved "
                    "aside"
                )
            case _:
                return (
                    f"{at} is at revision {self.current}, which this code does not know (its "
                    f"newest is {self.head}): newer code migrated it; run that code"
                )


# ---- Alembic, configured in code ---------------------------------------------------------


def _config(connection: Connection | None = None) -> Config:
    """Alembic's configuration without an ini file; the scripts come from the installed
    package (package data). Alembic is imported where it is used: a command that only reads
    the store does without it (it costs a tenth of a second)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def alembic_command() -> Any:
    """``alembic.command``, imported when a database is changed."""
    from alembic import command

    return command


def _script() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(MIGRATIONS_DIR))


def head_revision() -> str:
    """The newest revision of the code (one line of revisions: a single head)."""
    head = _script().get_current_head()
    if head is None:
        raise RuntimeError(f"no revisions in {MIGRATIONS_DIR / 'versions'}")
    return head


def _schema(connection: Connection) -> str | None:
    """PostgreSQL: the schema the tables live in (first existing one on the search_path)."""
    if connection.dialect.name != "postgresql":
        return None
    schema = connection.exec_driver_sql("SELECT current_schema()").scalar()
    if schema is None:
        raise RuntimeError(
            "the records database's search_path names no existing schema: create it first"
        )
    return schema


def context_options(connection: Connection) -> dict[str, Any]:
    """The options of every migration context (env.py and the revision check alike)."""
    options: dict[str, Any] = {
        "version_table": VERSION_TABLE,
        "render_as_batch": connection.dialect.name == "sqlite",
        "compare_type": True,
    }
    schema = _schema(connection)
    if schema is not None:
        options["version_table_schema"] = schema
    return options


def display_url(url: URL) -> str:
    """The URL without its password (``URL.set`` cannot remove one)."""
    return url._replace(password=None).render_as_string(hide_password=False)


def _where(connection: Connection) -> str:
    url = display_url(connection.engine.url)
    schema = _schema(connection)
    return url if schema in (None, "public") else f"{url} (schema {schema})"


# ---- the state of a database -------------------------------------------------------------


def _current(connection: Connection) -> str | None:
    from alembic.migration import MigrationContext

    context = MigrationContext.configure(connection, opts=context_options(connection))
    heads = context.get_current_heads()
    if len(heads) > 1:
        raise RuntimeError(f"the records database records several revisions: {heads}")
    return heads[0] if heads else None


def current_revision(engine: Engine) -> str | None:
    """The database's recorded revision; None when none is (empty or made before
    migrations)."""
    with engine.connect() as connection:
        return _current(connection)


def _shape(connection: Connection, tables: set[str]) -> dict[str, tuple[set, set]]:
    """Each table's column names and (non-constraint) index names."""
    inspector = inspect(connection)
    schema = _schema(connection)
    shape = {}
    for table in tables:
        columns = {c["name"] for c in inspector.get_columns(table, schema=schema)}
        indexes = {
            i["name"] for i in inspector.get_indexes(table, schema=schema)
            if not i.get("duplicates_constraint")
        }
        shape[table] = (columns, indexes)
    return shape


_baseline_cache: dict[str, dict[str, tuple[set, set]]] = {}


def _baseline_shape() -> dict[str, tuple[set, set]]:
    """The tables of BASELINE, as its migration makes them (on a scratch SQLite database)."""
    key = str(MIGRATIONS_DIR)
    if key not in _baseline_cache:
        scratch = create_engine("sqlite://")
        with scratch.begin() as connection:
            alembic_command().upgrade(_config(connection), BASELINE)
            tables = set(inspect(connection).get_table_names()) - {VERSION_TABLE}
            _baseline_cache[key] = _shape(connection, tables)
        scratch.dispose()
    return _baseline_cache[key]


def _store_tables() -> set[str]:
    from store.schema import Base

    return set(Base.metadata.tables) | set(_baseline_shape())


def _baseline_differences(connection: Connection) -> list[str]:
    baseline = _baseline_shape()
    present = set(inspect(connection).get_table_names(schema=_schema(connection)))
    differences = [f"no table {t}" for t in sorted(set(baseline) - present)]
    found = _shape(connection, set(baseline) & present)
    for table, (columns, indexes) in sorted(found.items()):
        want_columns, want_indexes = baseline[table]
        if missing := sorted(want_columns - columns):
            differences.append(f"{table} lacks columns {', '.join(missing)}")
        if extra := sorted(columns - want_columns):
            differences.append(f"{table} has other columns {', '.join(extra)}")
        if missing := sorted(want_indexes - indexes):
            differences.append(f"{table} lacks indexes {', '.join(missing)}")
    return differences


def _status(connection: Connection) -> Status:
    head = head_revision()
    current = _current(connection)
    where = _where(connection)
    if current == head:
        return Status(where, current, head, "current")
    if current is not None:
        known = {r.revision for r in _script().walk_revisions()}
        return Status(where, current, head, "behind" if current in known else "unknown")
    present = set(inspect(connection).get_table_names(schema=_schema(connection)))
    if not present & _store_tables():
        return Status(where, None, head, "empty")
    differences = _baseline_differences(connection)
    if differences:
        return Status(where, None, head, "mismatch", "; ".join(differences))
    return Status(where, None, head, "legacy")


def has_store(engine: Engine) -> bool:
    """Whether the database holds a records store (a revision, or the tables of one made
    before migrations); changes nothing, and needs no Alembic."""
    with engine.connect() as connection:
        present = set(inspect(connection).get_table_names(schema=_schema(connection)))
    if VERSION_TABLE in present:
        return True
    from store.schema import Base  # not _store_tables: it builds the baseline with Alembic

    return bool(present & set(Base.metadata.tables))


def status(engine: Engine) -> Status:
    """Where the database stands against the code's head; changes nothing."""
    with engine.connect() as connection:
        return _status(connection)


def check_current(engine: Engine) -> Status:
    """Raise `DatabaseNotCurrent` unless the database is at the code's head revision. The
    worker calls it before it polls: the message names the command to run."""
    found = status(engine)
    if found.state != "current":
        raise DatabaseNotCurrent(found.message)
    return found


# ---- changing a database -----------------------------------------------------------------


@contextmanager
def _locked(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that holds the migration lock; commits at the end."""
    if engine.dialect.name == "sqlite":
        # pysqlite does not begin a transaction before DDL: begin one by hand, taking the
        # file's write lock at once (BEGIN IMMEDIATE; busy_timeout waits for another writer).
        with engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT")
            connection.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                with suppress(Exception):  # the original error matters more
                    connection.exec_driver_sql("ROLLBACK")
                raise
            connection.exec_driver_sql("COMMIT")
            connection.commit()
        return
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            # Transaction-scoped: released by the commit or rollback, also if the process
            # dies. One key per schema, so separate schemas (the tests') do not wait.
            key = f"school-transfers records migrations {_schema(connection)}"
            connection.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": key})
        yield connection


@dataclass(frozen=True)
class Upgrade:
    before: str | None
    after: str
    adopted: bool  # the tables were made before migrations: BASELINE recorded

    @property
    def changed(self) -> bool:
        return self.adopted or self.before != self.after


def upgrade(engine: Engine) -> Upgrade:
    """Bring the database to head (``transfers db upgrade``). Safe twice and from several
    processes at once. Raises `DatabaseNotCurrent` for a database it must not touch (tables
    of unknown origin, or a revision newer than the code)."""
    with _locked(engine) as connection:
        found = _status(connection)
        if found.state in ("mismatch", "unknown"):
            raise DatabaseNotCurrent(found.message)
        before = found.current
        if found.state == "legacy":
            alembic_command().stamp(_config(connection), BASELINE)
            before = BASELINE
        if before != found.head:
            alembic_command().upgrade(_config(connection), "head")
        return Upgrade(before, found.head, adopted=found.state == "legacy")


def prepare(engine: Engine) -> None:
    """What opening the store does (`store.engine.make_engine`): create an empty database at
    head, stamp a database of the code before migrations with BASELINE; nothing else. The
    unlocked look first keeps the usual case (a database with a revision) to one query."""
    with engine.connect() as connection:
        if _current(connection) is not None:
            return
    with _locked(engine) as connection:
        found = _status(connection)
        if found.state == "empty":
            alembic_command().upgrade(_config(connection), "head")
        elif found.state == "legacy":
            alembic_command().stamp(_config(connection), BASELINE)


def downgrade(engine: Engine, revision: str) -> None:
    """Undo revisions down to ``revision`` (``base``: no tables). For tests and repairs."""
    with _locked(engine) as connection:
        alembic_command().downgrade(_config(connection), revision)


def model_differences(engine: Engine, metadata: MetaData | None = None) -> list:
    """Autogenerate's differences between the database and the models (`store.schema`):
    empty when the migrations make exactly the models' tables and indexes."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from store.schema import Base

    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                **context_options(connection),
                # Compare the current schema; the version table is no model.
                "include_name": lambda name, kind, _parent: not (
                    kind == "table" and name == VERSION_TABLE
                ),
            },
        )
        return compare_metadata(context, metadata if metadata is not None else Base.metadata)


# ---- writing a new revision --------------------------------------------------------------


def new_revision(message: str) -> Path:
    """Write the next revision from the difference between `store.schema` and a scratch
    SQLite database at head; review it before committing."""
    script = _script()
    number = max((int(r.revision) for r in script.walk_revisions()), default=0) + 1
    with tempfile.TemporaryDirectory() as scratch:
        engine = create_engine(f"sqlite:///{Path(scratch) / 'scratch.sqlite3'}")
        upgrade(engine)
        with _locked(engine) as connection:
            written = alembic_command().revision(
                _config(connection), message=message, autogenerate=True, rev_id=f"{number:04d}"
            )
        engine.dispose()
    if isinstance(written, list):
        written = written[0]
    assert written is not None
    return Path(written.path)


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "revision":
        sys.exit('usage: python -m store.migrate revision "what changed"')
    print(new_revision(sys.argv[2]))
