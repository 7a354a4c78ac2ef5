"""Schema migrations, engine tuning and settings resolution."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from kpanic.errors import KpanicError
from kpanic.settings import get_settings, normalize_database_url, resolve_database_url
from kpanic.store import search
from kpanic.store.db import current_revision, head_revision, make_engine, upgrade
from kpanic.store.models import Base


def test_migrations_match_models_and_are_idempotent(db_url: str) -> None:
    assert current_revision(db_url) == head_revision() is not None
    upgrade(db_url)  # again: nothing to do, no error
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            # The search indexes of migration 0008 (FTS5 tables, GIN expressions) are no models.
            opts = {"include_name": lambda name, kind, _: not search.is_search_index(name)}
            diff = compare_metadata(MigrationContext.configure(conn, opts=opts), Base.metadata)
    finally:
        engine.dispose()
    assert diff == []


def test_sqlite_is_tuned_for_several_processes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'sub' / 'k.db'}"
    upgrade(url)  # creates the directory
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            pragma = conn.exec_driver_sql
            assert pragma("PRAGMA journal_mode").scalar() == "wal"
            assert pragma("PRAGMA foreign_keys").scalar() == 1
            assert pragma("PRAGMA busy_timeout").scalar() == 30000
            assert pragma("PRAGMA synchronous").scalar() == 2  # FULL: commits survive power loss
    finally:
        engine.dispose()


def test_database_url_resolution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KPANIC_DATABASE_URL", raising=False)
    monkeypatch.setenv("KPANIC_DATA_DIR", str(tmp_path))
    assert resolve_database_url() == f"sqlite:///{tmp_path / 'kpanic.db'}"
    monkeypatch.setenv("KPANIC_DATABASE_URL", "postgres://u@h/db")
    assert resolve_database_url() == "postgresql+psycopg://u@h/db"
    assert resolve_database_url("sqlite:///x.db") == "sqlite:///x.db"  # --db wins
    assert normalize_database_url("postgresql://h/d") == "postgresql+psycopg://h/d"
    with pytest.raises(KpanicError):
        normalize_database_url("mysql://h/d")
    with pytest.raises(KpanicError):
        normalize_database_url("  ")


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KPANIC_SCRUB", "0")
    monkeypatch.setenv("KPANIC_SAMPLE_LIMIT", "7")
    s = get_settings("sqlite://")
    assert not s.scrub and s.sample_limit == 7
    assert get_settings("sqlite://", sample_limit=2).sample_limit == 2
    monkeypatch.setenv("KPANIC_SAMPLE_LIMIT", "many")
    with pytest.raises(KpanicError, match="KPANIC_SAMPLE_LIMIT"):
        get_settings("sqlite://")
    monkeypatch.setenv("KPANIC_SAMPLE_LIMIT", "3")
    monkeypatch.setenv("KPANIC_SCRUB", "maybe")
    with pytest.raises(KpanicError, match="KPANIC_SCRUB"):
        get_settings("sqlite://")


def test_unreachable_postgres_is_a_clear_error() -> None:
    with pytest.raises(KpanicError, match="cannot use the database"):
        upgrade("postgresql+psycopg://postgres@127.0.0.1:1/nothing?connect_timeout=2")


def _upgrade_and_read(url: str) -> str | None:
    upgrade(url)
    return current_revision(url)


@pytest.mark.slow
def test_services_starting_together_migrate_once(tmp_path: Path) -> None:
    """Several processes calling upgrade() on a fresh SQLite file at once all succeed."""
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    with ProcessPoolExecutor(3, mp_context=get_context("spawn")) as pool:
        revisions = list(pool.map(_upgrade_and_read, [url] * 3))
    assert revisions == [head_revision()] * 3


def test_rate_limit_table_made_before_0002_is_adopted(tmp_path: Path) -> None:
    """Databases served before migration 0002 already hold ``web_rate_limits`` (the web layer
    created it itself): upgrading keeps its rows and ends at head."""
    from sqlalchemy import text

    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0001")
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "CREATE TABLE web_rate_limits (client VARCHAR(40) NOT NULL, "
                    "window_start BIGINT NOT NULL, count INTEGER NOT NULL, "
                    "PRIMARY KEY (client, window_start))"
                )
            )
            conn.execute(text("INSERT INTO web_rate_limits VALUES ('c', 60, 3)"))
        upgrade(url)
        assert current_revision(url) == head_revision()
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count FROM web_rate_limits")).scalar_one() == 3
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_postgres_report_texts_use_lz4_and_downgrade_restores_pglz(
    _pg_session_url: str,  # PostgreSQL reachable (fails in CI, skips elsewhere)
) -> None:
    """Migration 0003: lz4 for the large report columns (pglz cost a fifth of intake CPU)."""
    import uuid

    import psycopg
    from alembic import command
    from sqlalchemy import text

    from kpanic.store.db import alembic_config
    from tests.store.conftest import PG_HOST, PG_PORT, PG_USER

    name = f"kpanic_test_lz4_{uuid.uuid4().hex[:8]}"
    admin = {"host": PG_HOST, "port": PG_PORT, "user": PG_USER, "dbname": "postgres"}
    with psycopg.connect(**admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+psycopg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
    engine = make_engine(url)

    def methods() -> set[str]:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT attcompression FROM pg_attribute WHERE attrelid = 'reports'::regclass "
                    "AND attname IN ('original', 'kmsg', 'parse', 'classification', 'payload')"
                )
            ).scalars()
            return set(rows)

    try:
        upgrade(url, "0002")
        assert methods() == {""}  # the server default (pglz)
        upgrade(url)
        assert methods() == {"l"}
        command.downgrade(alembic_config(url), "0002")
        assert methods() == {"p"}
    finally:
        engine.dispose()
        with psycopg.connect(**admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.postgres
def test_connections_dropped_by_the_server_are_retried(
    _pg_session_url: str, prepared_crashes
) -> None:
    """No pre-ping: a pooled connection the server closed (restart, idle kill) fails once,
    the pool is invalidated and the intake paths retry instead of failing the request."""
    import psycopg

    from kpanic.store.repository import Pending, Repository
    from tests.store.conftest import PG_HOST, PG_PORT, PG_USER, _empty_pg

    _empty_pg(_pg_session_url)
    repo = Repository(_pg_session_url)
    dbname = repo.engine.url.database

    def kill_backends() -> int:
        with psycopg.connect(
            host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres", autocommit=True
        ) as conn:
            return len(
                conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid()",
                    (dbname,),
                ).fetchall()
            )

    try:
        p = prepared_crashes[0][1]
        first = repo.store_many([Pending(p)])[0]
        assert repo.report_by_hash(p.content_hash).id == first.report_id
        assert kill_backends() >= 1  # the pooled connection is now dead
        assert repo.report_by_hash(p.content_hash).id == first.report_id
        assert kill_backends() >= 1
        second = repo.store_many([Pending(prepared_crashes[1][1])])[0]
        assert second.is_new and repo.stats().total == 2
    finally:
        repo.close()


def _sqlite_writer(url: str, tag: str, rounds: int) -> int:
    """Child process: ``rounds`` write transactions that hold the write lock a little while,
    with SQLite's own busy wait turned off (any overlap would fail at once)."""
    import time

    from sqlalchemy import text

    import kpanic.store.db as db

    engine = db.make_engine(url)
    with engine.connect() as conn:  # opened with the usual busy timeout (WAL set-up may race)
        conn.exec_driver_sql("PRAGMA busy_timeout = 0")  # then off for this pooled connection
    done = 0
    for i in range(rounds):
        with db.write_session(engine) as s:
            s.execute(text("INSERT INTO web_rate_limits VALUES (:c, :w, 1)"), {"c": tag, "w": i})
            time.sleep(0.002)
        done += 1
    engine.dispose()
    return done


def test_sqlite_writers_in_several_processes_take_turns(tmp_path: Path) -> None:
    """Writers of one SQLite file queue on a file lock (no busy-handler sleeps): with SQLite's
    busy timeout at 0, overlapping write transactions from two processes would fail with
    "database is locked"; taking turns, every one commits."""
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    from sqlalchemy import text

    url = f"sqlite:///{tmp_path / 'turns.db'}"
    upgrade(url)
    with ProcessPoolExecutor(3, mp_context=get_context("spawn")) as pool:
        done = list(pool.map(_sqlite_writer, [url] * 3, ["a", "b", "c"], [40] * 3))
    assert done == [40, 40, 40]
    engine = make_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM web_rate_limits")).scalar_one() == 120
    engine.dispose()
