"""Engines, sessions and schema migrations.

SQLite is tuned for a small service with several processes: WAL (readers never block the
writer), foreign keys on, a busy timeout, and write transactions that start with
``BEGIN IMMEDIATE`` so two writers queue on the lock instead of failing with "database is
locked" when a read transaction tries to upgrade. PostgreSQL uses psycopg 3 with pre-ping.

Migrations are Alembic revisions shipped inside the package (``kpanic/store/migrations``), run
programmatically by :func:`upgrade` (the service calls it on start; ``kpanic db upgrade`` too).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

from kpanic.errors import KpanicError
from kpanic.settings import resolve_database_url

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 30_000

_upgrade_lock = threading.Lock()


class DatabaseUnavailable(KpanicError):
    """The database cannot be opened or reached (message names it, password hidden)."""

    def __init__(self, engine: Engine, exc: Exception) -> None:
        where = engine.url.render_as_string(hide_password=True)
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        super().__init__(f"cannot use the database {where}: {reason[0] if reason else exc}")


def is_sqlite(engine_or_url: Engine | str) -> bool:
    url = engine_or_url.url if isinstance(engine_or_url, Engine) else make_url(engine_or_url)
    return url.get_backend_name() == "sqlite"


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event below emit BEGIN itself (pysqlite's own is always DEFERRED).
    dbapi_connection.isolation_level = None
    cur = dbapi_connection.cursor()
    try:
        cur.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys = ON")
        mode = cur.execute("PRAGMA journal_mode").fetchone()[0]
        if str(mode).lower() not in ("wal", "memory"):
            cur.execute("PRAGMA journal_mode = WAL")
        # FULL: a commit is on disk (WAL fsynced) before ingest acknowledges it, even if the
        # machine loses power right after; NORMAL would only survive a crash of the process.
        cur.execute("PRAGMA synchronous = FULL")
    finally:
        cur.close()


def _sqlite_on_begin(conn: Connection) -> None:
    write = conn.get_execution_options().get("kpanic_write", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def make_engine(url: str | None = None, *, echo: bool = False) -> Engine:
    """An engine for ``url`` (resolved like ``--db``); creates the SQLite file's directory."""
    resolved = resolve_database_url(url)
    try:
        sa_url = make_url(resolved)
    except Exception as exc:  # sqlalchemy.exc.ArgumentError and friends
        raise KpanicError(f"invalid database URL {resolved!r}: {exc}") from None
    if sa_url.get_backend_name() == "sqlite":
        database = sa_url.database or ""
        kwargs: dict[str, Any] = {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}}
        if database in ("", ":memory:"):
            kwargs["poolclass"] = StaticPool
            kwargs["connect_args"]["check_same_thread"] = False
        else:
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(sa_url, echo=echo, **kwargs)
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    return create_engine(sa_url, echo=echo, pool_pre_ping=True, pool_size=5, max_overflow=10)


@contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    """A session for queries (its transaction is rolled back at the end)."""
    with Session(engine, expire_on_commit=False) as session:
        yield session


@contextmanager
def write_session(engine: Engine) -> Iterator[Session]:
    """A session whose transaction commits when the block ends without error.

    On SQLite the transaction takes the write lock up front (BEGIN IMMEDIATE).
    """
    with engine.connect() as conn:
        conn = conn.execution_options(kpanic_write=True)
        with Session(bind=conn, expire_on_commit=False) as session:
            with session.begin():
                yield session


def alembic_config(url: str | None = None, *, connection: Connection | None = None) -> Any:
    """An Alembic Config pointing at the packaged migrations and the given database."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", resolve_database_url(url).replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """Bring the database schema to ``revision`` (idempotent; safe to call on every start).

    On PostgreSQL a transaction-level advisory lock serializes concurrent starters.
    """
    from alembic import command

    engine = make_engine(url)
    try:
        # kpanic_write: on SQLite the migration holds the write lock from its first statement,
        # so a second process starting at the same moment waits instead of failing.
        with (
            _upgrade_lock,
            engine.connect().execution_options(kpanic_write=True) as conn,
            conn.begin(),
        ):
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql("SELECT pg_advisory_xact_lock(727274)")
            command.upgrade(alembic_config(url, connection=conn), revision)
        refresh_statistics(engine)
    except OperationalError as exc:
        raise DatabaseUnavailable(engine, exc) from None
    finally:
        engine.dispose()


def refresh_statistics(engine: Engine) -> None:
    """Give SQLite's query planner table statistics (PostgreSQL's autovacuum does this).

    Without them SQLite may pick a poor index at a million rows. ``analysis_limit`` makes
    ANALYZE sample each index instead of reading it whole, so this takes milliseconds.
    """
    if engine.dialect.name != "sqlite":
        return
    try:
        with engine.connect().execution_options(kpanic_write=True) as conn:
            conn.exec_driver_sql("PRAGMA analysis_limit = 1000")
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
    except OperationalError:  # busy for longer than the timeout: statistics can wait
        pass


def current_revision(url: str | None = None) -> str | None:
    """The schema revision the database is at (None when it was never migrated)."""
    from alembic.runtime.migration import MigrationContext

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    except OperationalError as exc:
        raise DatabaseUnavailable(engine, exc) from None
    finally:
        engine.dispose()


def head_revision() -> str | None:
    """The newest revision shipped with this version of kpanic."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
