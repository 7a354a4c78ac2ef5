"""Fixtures for the web service tests: databases (SQLite and PostgreSQL), apps, live servers,
and a headless Chromium driven by Playwright."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, VECTORS

PG_HOST = "127.0.0.1"
PG_PORT = 5432
# One Playwright instance for the whole run: the browser and page fixtures live in the root
# conftest (two sync_playwright instances at once fail with "Sync API inside the asyncio loop").

SCREENSHOTS = ROOT / "artifacts" / "screenshots"
DEMO = ROOT / "src" / "kpanic" / "web" / "demo_data"


def postgres_reachable() -> bool:
    try:
        with socket.create_connection((PG_HOST, PG_PORT), timeout=1.0):
            return True
    except OSError:
        return False


def require_postgres() -> None:
    if postgres_reachable():
        return
    msg = f"PostgreSQL is not reachable on {PG_HOST}:{PG_PORT}"
    if os.environ.get("KPANIC_REQUIRE_POSTGRES") == "1":
        pytest.fail(msg)
    pytest.skip(msg)


def _pg_admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(
        host=PG_HOST, port=PG_PORT, user="postgres", dbname="postgres", autocommit=True
    ) as conn:
        conn.execute(sql)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database kpanic_test_web_<random>, dropped afterwards."""
    require_postgres()
    name = f"kpanic_test_web_{uuid.uuid4().hex[:12]}"
    _pg_admin(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@{PG_HOST}:{PG_PORT}/{name}"
    finally:
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Every service test runs against SQLite and against PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'kpanic.db'}"
    return request.getfixturevalue("pg_url")


def make_client(db_url: str, **config: object):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from kpanic.settings import get_settings
    from kpanic.web.app import create_app
    from kpanic.web.config import WebConfig

    cfg = WebConfig()
    cfg.rate_limit = 0  # most tests are not about flood control
    cfg.embedded_workers = True  # the analysis workers run as threads of the test process
    for key, value in config.items():
        setattr(cfg, key, value)
    app = create_app(get_settings(db_url), cfg)
    return TestClient(app, base_url="http://testserver")


@pytest.fixture
def client(db_url: str) -> Iterator[object]:
    with make_client(db_url) as c:
        yield c


def vectors(encoder: str) -> list[dict]:
    name = "fido2-6.15.json" if encoder == "fido2" else "legacy-6.12.json"
    return json.loads((VECTORS / name).read_text())["vectors"]


def kmsg_urls(encoder: str = "fido2") -> list[dict]:
    return [v for v in vectors(encoder) if v["category"] == "kmsg" and v["url"]]


def demo_log(number: int) -> str:
    return (DEMO / f"syzkaller-{number}.txt").read_text()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    url: str
    db_url: str
    log_path: Path
    proc: subprocess.Popen
    workers: list[subprocess.Popen] = field(default_factory=list)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int | None = None) -> None:
        procs = [self.proc, *self.workers]
        for proc in procs:
            if proc.poll() is None:
                if sig is None:
                    proc.terminate()
                else:
                    proc.send_signal(sig)
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def start_worker(
    db_url: str, log_path: Path, queue: str = "text", env: dict[str, str] | None = None
) -> subprocess.Popen:
    """``kpanic worker --queue QUEUE`` as a subprocess (what ``kpanic serve`` starts)."""
    log_file = open(log_path, "ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "kpanic.cli", "worker", "--queue", queue, "--db", db_url],
        env={**os.environ, "KPANIC_DATABASE_URL": db_url, **(env or {})},
        stdout=log_file,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )
    log_file.close()
    return proc


def wait_ready(proc: subprocess.Popen[bytes], port: int, db_url: str, log_path: Path) -> LiveServer:
    """The server ``proc`` once /healthz answers on ``port`` (its log in the error otherwise)."""
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("server exited early:\n" + log_path.read_text(errors="replace"))
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return LiveServer(url, db_url, log_path, proc)
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not start:\n" + log_path.read_text(errors="replace"))


def start_server(
    db_url: str,
    log_path: Path,
    *,
    env: dict[str, str] | None = None,
    workers: int = 1,
    queues: tuple[str, ...] = ("text", "photo"),
) -> LiveServer:
    """``uvicorn kpanic.web.asgi`` as a subprocess on a free loopback port, ready to serve,
    with one analysis worker process per entry of ``queues``."""
    port = free_port()
    full_env = {
        **os.environ,
        "KPANIC_DATABASE_URL": db_url,
        "KPANIC_RATE_LIMIT": "0",
        **(env or {}),
    }
    log_file = open(log_path, "ab")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "kpanic.web.asgi:create_app_from_env",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        env=full_env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )
    log_file.close()
    server = wait_ready(proc, port, db_url, log_path)
    server.workers = [start_worker(db_url, log_path, q, env) for q in queues]
    return server


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    server = start_server(f"sqlite:///{tmp_path / 'live.db'}", tmp_path / "server.log")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def module_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One live server (SQLite) shared by a test module whose tests do not store data."""
    tmp = tmp_path_factory.mktemp("server")
    server = start_server(f"sqlite:///{tmp / 'live.db'}", tmp / "server.log")
    try:
        yield server
    finally:
        server.stop()


def screenshot(page: object, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    return path
