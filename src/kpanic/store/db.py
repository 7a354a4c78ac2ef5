"""Engines, sessions and schema migrations.

SQLite is tuned for a small service with several processes: WAL (readers never block the
writer), foreign keys on, a busy timeout, and write transactions that start with
``BEGIN IMMEDIATE`` so two writers queue on the lock instead of failing with "database is
locked" when a read transaction tries to upgrade. Writers of one SQLite file also take a
blocking file lock first (:func:`_sqlite_writer_turn`): SQLite's busy handler waits by sleeping
in growing steps, so several server processes writing at once would wait up to ~100 ms per
retry; on a kernel lock the next writer starts as soon as the previous one commits.
PostgreSQL uses psycopg 3 without pre-ping: after a server restart the intake paths retry on a
fresh connection; another request caught on a dropped connection answers 503 once, and the
pool is renewed.

Migrations are Alembic revisions shipped inside the package (``kpanic/store/migrations``), run
programmatically by :func:`upgrade` (the service calls it on start; ``kpanic db upgrade`` too).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: SQLite's busy timeout alone
    fcntl = None  # type: ignore[assignment]
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
            # Connections are cheap to keep and costly to open (five PRAGMAs): keep enough for
            # the server's worker threads instead of opening and closing overflow ones.
            kwargs.update(pool_size=20, max_overflow=20)
        engine = create_engine(sa_url, echo=echo, **kwargs)
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    # No pre-ping (a round trip per checkout, a fifth of an intake lookup's cost): connections
    # the server dropped (a restart) fail once, invalidate the pool, and the intake paths retry
    # (report_by_hash, store_many: _retryable); old connections are recycled.
    return create_engine(
        sa_url, echo=echo, pool_pre_ping=False, pool_recycle=1800, pool_size=10, max_overflow=20
    )


@contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    """A session for queries (its transaction is rolled back at the end)."""
    with Session(engine, expire_on_commit=False) as session:
        yield session


class _WriterTurn:
    """A reentrant thread lock plus an ``flock`` held while any thread of this process is in."""

    def __init__(self, path: str) -> None:
        self.lock = threading.RLock()
        self.depth = 0
        self.handle = open(path, "a+b")  # kept open for the life of the process

    @contextmanager
    def held(self) -> Iterator[None]:
        with self.lock:
            if self.depth == 0:
                fcntl.flock(self.handle.fileno(), fcntl.LOCK_EX)
            self.depth += 1
            try:
                yield
            finally:
                self.depth -= 1
                if self.depth == 0:
                    fcntl.flock(self.handle.fileno(), fcntl.LOCK_UN)


_writer_turns: dict[str, _WriterTurn] = {}
_writer_turns_guard = threading.Lock()


@contextmanager
def _sqlite_writer_turn(engine: Engine) -> Iterator[None]:
    """Exclusive turn to write a SQLite file: a thread lock (threads of this process) and an
    ``flock`` on ``<database>.writers`` (other processes). A no-op for other databases, for
    in-memory SQLite and where ``fcntl`` does not exist (the busy timeout still applies)."""
    database = engine.url.database or ""
    if engine.dialect.name != "sqlite" or database in ("", ":memory:") or fcntl is None:
        yield
        return
    with _writer_turns_guard:
        turn = _writer_turns.get(database)
        if turn is None:
            turn = _writer_turns[database] = _WriterTurn(f"{database}.writers")
    with turn.held():
        yield


@contextmanager
def write_session(engine: Engine) -> Iterator[Session]:
    """A session whose transaction commits when the block ends without error.

    On SQLite the transaction takes the write lock up front (BEGIN IMMEDIATE), after waiting
    for its turn among this file's writers (:func:`_sqlite_writer_turn`).
    """
    with _sqlite_writer_turn(engine), engine.connect() as conn:
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
