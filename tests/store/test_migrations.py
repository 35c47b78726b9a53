"""The records store's migrations (store/migrate.py, store/migrations/), on SQLite and, when
TRANSFERS_TEST_DATABASE_URL is set, on PostgreSQL in a schema of the test's own."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine, inspect, text
from typer.testing import CliRunner

from cli.db import db_app
from infra.settings import load_settings
from store import migrate, notices
from store.engine import make_engine, open_engine
from store.schema import Base
from tests.support.databases import backends, postgres_url, throwaway_schema, with_search_path
from tests.support.paths import ROOT
from tests.support.races import at_once

UPGRADE = "run `transfers db upgrade`"


@dataclass
class Database:
    """A fresh database: a new SQLite file, or a new PostgreSQL schema (named in the URL's
    search_path, the way TRANSFERS_DATABASE_URL would)."""

    backend: str
    url: str
    schema: str | None
    engines: list[Engine] = field(default_factory=list)

    def open(self) -> Engine:
        """As it is: nothing created (what `transfers db` uses)."""
        engine = open_engine(self.url)
        self.engines.append(engine)
        return engine

    def make(self) -> Engine:
        """As the worker and the CLI open it (an empty database is created at head)."""
        engine = make_engine(self.url)
        self.engines.append(engine)
        return engine


@pytest.fixture(params=backends())
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        found = Database("sqlite", f"sqlite:///{tmp_path / 'data' / 'records.sqlite3'}", None)
        yield found
        for engine in found.engines:
            engine.dispose()
        return
    with throwaway_schema("m") as schema:
        found = Database("postgresql", with_search_path(str(postgres_url()), schema), schema)
        yield found
        for engine in found.engines:
            engine.dispose()


@pytest.fixture
def newer_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[], str]:
    """Call it to make the code one revision newer than the package's head: a copy of the
    migrations with a throwaway revision adding a table ``scratch``. Returns its id."""

    def activate() -> str:
        old = migrate.head_revision()
        new = f"{int(old) + 1:04d}"
        copy = tmp_path / "migrations"
        shutil.copytree(
            migrate.MIGRATIONS_DIR, copy, ignore=shutil.ignore_patterns("__pycache__")
        )
        (copy / "versions" / f"{new}_scratch.py").write_text(
            f'"""A throwaway revision."""\n\n'
            "import sqlalchemy as sa\n"
            "from alembic import op\n\n"
            f"revision = {new!r}\ndown_revision = {old!r}\n"
            "branch_labels = None\ndepends_on = None\n\n\n"
            "def upgrade() -> None:\n"
            '    op.create_table("scratch", sa.Column("id", sa.Integer(), primary_key=True))\n\n\n'
            "def downgrade() -> None:\n"
            '    op.drop_table("scratch")\n'
        )
        monkeypatch.setattr(migrate, "MIGRATIONS_DIR", copy)
        assert migrate.head_revision() == new
        return new

    return activate


def tables(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        schema = migrate._schema(connection)
        return set(inspect(connection).get_table_names(schema=schema))


def shape_in_database(engine: Engine) -> dict:
    """Each table's columns (nullable), primary key, indexes and unique constraints."""
    shape = {}
    with engine.connect() as connection:
        schema = migrate._schema(connection)
        inspector = inspect(connection)
        for table in inspector.get_table_names(schema=schema):
            if table == migrate.VERSION_TABLE:
                continue
            shape[table] = (
                {c["name"]: c["nullable"] for c in inspector.get_columns(table, schema)},
                sorted(inspector.get_pk_constraint(table, schema)["constrained_columns"]),
                {
                    i["name"]: (tuple(i["column_names"]), bool(i["unique"]))
                    for i in inspector.get_indexes(table, schema)
                    if not i.get("duplicates_constraint")
                },
                {
                    u["name"]: tuple(u["column_names"])
                    for u in inspector.get_unique_constraints(table, schema)
                },
            )
    return shape


def shape_of_models() -> dict:
    shape = {}
    for table in Base.metadata.sorted_tables:
        shape[table.name] = (
            {c.name: c.nullable for c in table.columns},
            sorted(c.name for c in table.primary_key.columns),
            {i.name: (tuple(c.name for c in i.columns), bool(i.unique)) for i in table.indexes},
            {
                u.name: tuple(c.name for c in u.columns)
                for u in table.constraints
                if isinstance(u, sa.UniqueConstraint)
            },
        )
    return shape


def version_rows(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        schema = migrate._schema(connection)
        table = f'"{schema}".{migrate.VERSION_TABLE}' if schema else migrate.VERSION_TABLE
        return list(connection.execute(text(f"SELECT version_num FROM {table}")).scalars())


def claim_a_notice(engine: Engine) -> None:
    assert notices.claim(engine, "R1:receipt:0", "R1", "receipt", ["m@example.com"], "s", "b")


# ---- a new database ----------------------------------------------------------------------


def test_upgrade_on_an_empty_database_gives_head_and_the_models_tables(
    database: Database,
) -> None:
    engine = database.open()
    assert migrate.status(engine).state == "empty"
    done = migrate.upgrade(engine)
    assert (done.before, done.after, done.adopted) == (None, migrate.head_revision(), False)
    assert migrate.current_revision(engine) == migrate.head_revision()
    assert version_rows(engine) == [migrate.head_revision()]
    # A model changed without a migration (or the other way round) fails here.
    assert migrate.model_differences(engine) == []
    assert shape_in_database(engine) == shape_of_models()
    assert migrate.check_current(engine).state == "current"


def test_opening_a_new_database_creates_it_at_head(database: Database) -> None:
    engine = database.make()
    assert migrate.current_revision(engine) == migrate.head_revision()
    assert migrate.model_differences(engine) == []
    claim_a_notice(engine)


def test_a_model_change_without_a_migration_is_a_difference(database: Database) -> None:
    engine = database.make()
    changed = sa.MetaData()
    for table in Base.metadata.sorted_tables:
        table.to_metadata(changed)
    changed.tables["notices"].append_column(sa.Column("channel", sa.String(16)))
    differences = migrate.model_differences(engine, changed)
    assert [d[0] for d in differences] == ["add_column"]
    assert differences[0][3].name == "channel"


def test_upgrade_twice_is_a_no_op(database: Database) -> None:
    engine = database.open()
    assert migrate.upgrade(engine).changed
    claim_a_notice(engine)
    before = shape_in_database(engine)
    again = migrate.upgrade(engine)
    assert not again.changed
    assert (again.before, again.after) == (migrate.head_revision(), migrate.head_revision())
    assert shape_in_database(engine) == before
    assert version_rows(engine) == [migrate.head_revision()]
    assert [n.key for n in notices.list_notices(engine)] == ["R1:receipt:0"]


def test_unrelated_tables_do_not_make_a_database_the_stores(database: Database) -> None:
    engine = database.open()
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE other_app (id INTEGER PRIMARY KEY)"))
    assert migrate.status(engine).state == "empty"
    engine = database.make()
    assert migrate.current_revision(engine) == migrate.head_revision()
    assert "other_app" in tables(engine)


# ---- at once -----------------------------------------------------------------------------


def test_concurrent_upgrades_migrate_once(database: Database) -> None:
    """Several processes' upgrades at the same moment (separate engines, so separate
    connections): one migrates, the others wait for its lock and find the database at head."""
    engines = [database.open() for _ in range(6)]
    results, errors = at_once([lambda engine=engine: migrate.upgrade(engine)
                               for engine in engines])
    assert errors == []
    assert sorted(r.changed for r in results) == [False] * 5 + [True]
    assert version_rows(engines[0]) == [migrate.head_revision()]
    assert migrate.model_differences(engines[0]) == []


def test_concurrent_first_opens_create_the_database_once(database: Database) -> None:
    _, errors = at_once([database.make] * 6)
    assert errors == []
    assert version_rows(database.open()) == [migrate.head_revision()]


def test_two_processes_upgrading_at_once(database: Database) -> None:
    program = (
        "import sys\n"
        "from store import migrate\n"
        "from store.engine import open_engine\n"
        "print(migrate.upgrade(open_engine(sys.argv[1])).changed)\n"
    )
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", program, database.url], cwd=ROOT,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for _ in range(3)
    ]
    outputs = [process.communicate(timeout=120) for process in processes]
    assert [p.returncode for p in processes] == [0, 0, 0], outputs
    assert sorted(out.strip() for out, _ in outputs) == ["False", "False", "True"]
    assert version_rows(database.open()) == [migrate.head_revision()]


# ---- behind, empty, ahead ----------------------------------------------------------------


def test_a_database_behind_the_code_is_refused_until_upgraded(
    database: Database, newer_code: Callable[[], str]
) -> None:
    engine = database.make()
    claim_a_notice(engine)
    old = migrate.head_revision()
    new = newer_code()
    found = migrate.status(engine)
    assert (found.state, found.current, found.head) == ("behind", old, new)
    with pytest.raises(migrate.DatabaseNotCurrent) as refused:
        migrate.check_current(engine)
    assert str(refused.value) == (
        f"the records database at {found.where} is at revision {old}, the code needs {new}: "
        f"{UPGRADE}"
    )
    assert found.where.startswith(database.url.split("://")[0])
    if database.schema:
        assert database.schema in found.where

    # Opening it never migrates it.
    assert migrate.current_revision(database.make()) == old
    assert "scratch" not in tables(engine)

    done = migrate.upgrade(engine)
    assert (done.before, done.after, done.adopted) == (old, new, False)
    assert "scratch" in tables(engine)
    assert migrate.check_current(engine).current == new
    assert [n.key for n in notices.list_notices(engine)] == ["R1:receipt:0"]


def test_a_database_downgraded_to_base_counts_as_empty(database: Database) -> None:
    engine = database.make()
    migrate.downgrade(engine, "base")
    assert tables(engine) == {migrate.VERSION_TABLE}
    head = migrate.head_revision()
    with pytest.raises(migrate.DatabaseNotCurrent) as refused:
        migrate.check_current(engine)
    assert f"is at revision none (empty), the code needs {head}: {UPGRADE}" in str(refused.value)
    assert migrate.upgrade(engine).before is None
    assert migrate.model_differences(engine) == []


def test_a_database_newer_than_the_code_is_refused_and_left_alone(
    database: Database, newer_code: Callable[[], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    packaged = migrate.MIGRATIONS_DIR
    new = newer_code()
    engine = database.make()
    assert migrate.current_revision(engine) == new
    monkeypatch.setattr(migrate, "MIGRATIONS_DIR", packaged)
    assert migrate.status(engine).state == "unknown"
    with pytest.raises(migrate.DatabaseNotCurrent, match=f"at revision {new}, which this code"):
        migrate.check_current(engine)
    with pytest.raises(migrate.DatabaseNotCurrent, match="does not know"):
        migrate.upgrade(engine)
    database.make()
    assert migrate.current_revision(engine) == new


# ---- made before migrations --------------------------------------------------------------


def make_database_of_the_code_before_migrations(database: Database) -> Engine:
    """The tables of revision 0001 (what the code before migrations created with CREATE
    TABLE IF NOT EXISTS: `model_differences` == [] at head shows 0001 was those tables) and
    no version table, with a record in them."""
    engine = database.make()
    migrate.downgrade(engine, migrate.BASELINE)
    with engine.begin() as connection:
        connection.execute(text(f"DROP TABLE {migrate.VERSION_TABLE}"))
    claim_a_notice(engine)
    return engine


def test_a_database_of_the_code_before_migrations_is_stamped_when_opened(
    database: Database,
) -> None:
    engine = make_database_of_the_code_before_migrations(database)
    before = shape_in_database(engine)
    found = migrate.status(engine)
    assert (found.state, found.current) == ("legacy", None)
    with pytest.raises(migrate.DatabaseNotCurrent, match=f"revision {migrate.BASELINE}.*{UPGRADE}"):
        migrate.check_current(engine)

    database.make()  # what the worker and the CLI do first
    assert migrate.current_revision(engine) == migrate.BASELINE
    assert shape_in_database(engine) == before  # recorded, nothing changed
    expected = "current" if migrate.head_revision() == migrate.BASELINE else "behind"
    assert migrate.status(engine).state == expected

    migrate.upgrade(engine)
    assert migrate.model_differences(engine) == []
    assert [n.key for n in notices.list_notices(engine)] == ["R1:receipt:0"]


def test_upgrade_stamps_a_database_of_the_code_before_migrations(database: Database) -> None:
    engine = make_database_of_the_code_before_migrations(database)
    done = migrate.upgrade(engine)
    assert (done.before, done.after, done.adopted) == (
        migrate.BASELINE, migrate.head_revision(), True,
    )
    assert migrate.check_current(engine).state == "current"
    assert migrate.model_differences(engine) == []
    assert [n.key for n in notices.list_notices(engine)] == ["R1:receipt:0"]


def test_tables_that_are_not_those_of_0001_are_left_alone(database: Database) -> None:
    engine = database.open()
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE requests (id VARCHAR(120) PRIMARY KEY)"))
    found = migrate.status(engine)
    assert found.state == "mismatch"
    assert "no table events" in found.detail
    assert "requests lacks columns" in found.detail
    with pytest.raises(migrate.DatabaseNotCurrent, match="not those of revision 0001"):
        migrate.check_current(engine)
    with pytest.raises(migrate.DatabaseNotCurrent, match="not those of revision 0001"):
        migrate.upgrade(engine)
    database.make()
    assert tables(engine) == {"requests"}


# ---- the worker --------------------------------------------------------------------------


async def test_the_worker_refuses_a_database_behind_the_code(
    tmp_path: Path, newer_code: Callable[[], str]
) -> None:
    from worker import run_worker

    url = f"sqlite:///{tmp_path / 'worker' / 'records.sqlite3'}"
    make_engine(url).dispose()
    newer_code()
    settings = replace(load_settings(), data_dir=tmp_path, database_url=url)
    # Refused before it connects to Temporal (there is no server here).
    with pytest.raises(migrate.DatabaseNotCurrent, match=f"the code needs .*: {UPGRADE}"):
        await run_worker(settings)


# ---- transfers db ------------------------------------------------------------------------

runner = CliRunner()


@pytest.fixture
def cli_database(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Database:
    """The environment `transfers db` reads: the data folder's SQLite file by default."""
    monkeypatch.setenv("TRANSFERS_DATA_DIR", str(tmp_path / "data"))
    if database.backend == "sqlite":
        monkeypatch.delenv("TRANSFERS_DATABASE_URL", raising=False)
        assert load_settings().database_url == database.url
    else:
        monkeypatch.setenv("TRANSFERS_DATABASE_URL", database.url)
    return database


def test_db_current_and_upgrade(cli_database: Database, tmp_path: Path) -> None:
    head = migrate.head_revision()
    result = runner.invoke(db_app, ["current"])
    assert result.exit_code == 1, result.output
    assert result.stdout.startswith("none: ")
    assert UPGRADE in result.stdout
    if cli_database.backend == "sqlite":
        assert not (tmp_path / "data" / "records.sqlite3").exists()  # only looked

    result = runner.invoke(db_app, ["upgrade"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("upgraded the records database at ")
    assert result.stdout.strip().endswith(f"from none (empty) to {head} (head)")

    result = runner.invoke(db_app, ["current"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"{head} (head) at ")

    result = runner.invoke(db_app, ["upgrade"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().endswith(f"is already at {head} (head)")


def test_db_current_and_upgrade_behind(
    cli_database: Database, newer_code: Callable[[], str]
) -> None:
    cli_database.make()
    old = migrate.head_revision()
    new = newer_code()
    result = runner.invoke(db_app, ["current"])
    assert result.exit_code == 1, result.output
    assert result.stdout.startswith(f"{old}: the records database at ")
    assert f"is at revision {old}, the code needs {new}: {UPGRADE}" in result.stdout

    result = runner.invoke(db_app, ["upgrade"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().endswith(f"from {old} to {new} (head)")
    assert runner.invoke(db_app, ["current"]).exit_code == 0


def test_db_upgrade_adopts_the_tables_of_the_code_before_migrations(
    cli_database: Database,
) -> None:
    make_database_of_the_code_before_migrations(cli_database)
    result = runner.invoke(db_app, ["current"])
    assert result.exit_code == 1
    assert result.stdout.startswith("none: ")
    result = runner.invoke(db_app, ["upgrade"])
    assert result.exit_code == 0, result.output
    assert f"from {migrate.BASELINE} (tables made before migrations" in result.stdout


def test_db_upgrade_refuses_tables_of_unknown_origin(cli_database: Database) -> None:
    with cli_database.open().begin() as connection:
        connection.execute(text("CREATE TABLE events (id INTEGER PRIMARY KEY)"))
    result = runner.invoke(db_app, ["upgrade"])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: the records database at ")
    assert "not those of revision 0001" in result.stderr
    assert result.stdout == ""
