"""Store test fixtures: every store test runs against SQLite and PostgreSQL.

PostgreSQL: a fresh database ``kpanic_test_store_<worker>_<pid>`` on 127.0.0.1:5432 per test
session (dropped at the end), emptied before each test. When the server is unreachable the
PostgreSQL half skips with the reason, unless KPANIC_REQUIRE_POSTGRES=1 (CI): then it fails.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import SYZKALLER

PG_HOST = os.environ.get("KPANIC_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("KPANIC_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("KPANIC_TEST_PG_USER", "postgres")
PG_PREFIX = "kpanic_test_store_"


def _all_tables() -> tuple[str, ...]:
    """Every table of the schema (a hand-kept list misses the tables added later)."""
    from kpanic.store.models import Base

    return tuple(t.name for t in Base.metadata.sorted_tables)


TABLES = _all_tables()


def _pg_admin_url() -> str:
    return f"postgresql+psycopg://{PG_USER}@{PG_HOST}:{PG_PORT}/postgres"


def _pg_unreachable_reason() -> str | None:
    try:
        import psycopg

        with psycopg.connect(
            host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres", connect_timeout=3
        ):
            return None
    except Exception as exc:  # any connection failure means "unreachable"
        return f"PostgreSQL at {PG_HOST}:{PG_PORT} is unreachable: {exc}".strip()


@pytest.fixture(scope="session")
def _pg_session_url() -> Iterator[str]:
    reason = _pg_unreachable_reason()
    if reason:
        if os.environ.get("KPANIC_REQUIRE_POSTGRES") == "1":
            pytest.fail(reason + " (KPANIC_REQUIRE_POSTGRES=1)")
        pytest.skip(reason)
    import psycopg

    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"{PG_PREFIX}{worker}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(
        host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres", autocommit=True
    ) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+psycopg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
    from kpanic.store.db import upgrade

    upgrade(url)
    yield url
    with psycopg.connect(
        host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres", autocommit=True
    ) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from kpanic.store.db import upgrade

    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


def _empty_pg(url: str) -> None:
    from sqlalchemy import create_engine

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE")
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database of each kind."""
    if request.param == "sqlite":
        template = request.getfixturevalue("_sqlite_template")
        path = tmp_path / "kpanic.db"
        shutil.copyfile(template, path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("_pg_session_url")
    _empty_pg(url)
    return url


@pytest.fixture
def repo(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    from kpanic.settings import get_settings
    from kpanic.store.repository import Repository

    monkeypatch.delenv("KPANIC_SAMPLE_LIMIT", raising=False)
    r = Repository(db_url, settings=get_settings(db_url, sample_limit=3))
    yield r
    r.close()


@dataclass(frozen=True)
class CorpusLog:
    name: str
    log: str
    title: str  # expected TITLE ("" for the no-crash logs)


def read_corpus_log(path: Path) -> CorpusLog:
    """A syzkaller corpus file split as its README says: header, then the console log."""
    lines = path.read_text(encoding="utf-8", errors="replace").replace("\r", "").split("\n")
    title = ""
    i = 0
    while i < len(lines) and lines[i] != "":
        if lines[i].startswith("TITLE: "):
            title = lines[i][len("TITLE: ") :]
        i += 1
    body: list[str] = []
    for j in range(i + 1, len(lines)):
        if lines[j].startswith("REPORT:") and j > 0 and lines[j - 1] == "":
            break
        body.append(lines[j])
    if body and body[-1] == "":
        body.pop()
    return CorpusLog(path.name, "".join(line + "\n" for line in body), title)


def corpus_logs(limit: int | None = None, *, crashes_only: bool = True) -> list[CorpusLog]:
    files = sorted((SYZKALLER / "report").iterdir(), key=lambda p: int(p.name))
    logs = [read_corpus_log(p) for p in files]
    if crashes_only:
        logs = [c for c in logs if c.title]
    return logs[:limit] if limit else logs


@pytest.fixture(scope="session")
def crash_logs() -> list[CorpusLog]:
    """The first 60 crash logs of the syzkaller corpus."""
    return corpus_logs(60)


@pytest.fixture(scope="session")
def prepared_crashes(crash_logs: list[CorpusLog]) -> list[tuple[CorpusLog, object]]:
    """The crash logs parsed and classified once per session (PreparedReport, unscrubbed)."""
    from kpanic.store.ingest import prepare_log

    return [(c, prepare_log(c.log, scrub=False)) for c in crash_logs]
