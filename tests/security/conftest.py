"""Fixtures of the attack tests: the web tests' databases and apps, and a real ``kpanic serve``
(the CLI with its server limits and access log) on a free loopback port."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.web.conftest import (  # noqa: F401  (fixtures, re-exported for this directory)
    LiveServer,
    client,
    db_url,
    demo_log,
    free_port,
    kmsg_urls,
    make_client,
    module_server,
    pg_url,
    vectors,
    wait_ready,
)


def start_kpanic_serve(
    database: str, log_path: Path, *, env: dict[str, str] | None = None, workers: int = 1
) -> LiveServer:
    """``kpanic serve`` as a subprocess (the CLI's uvicorn options, not bare uvicorn)."""
    port = free_port()
    full_env = {
        **os.environ,
        "KPANIC_RATE_LIMIT": "0",
        "KPANIC_DATA_DIR": str(log_path.parent),
        **(env or {}),
    }
    log_file = open(log_path, "ab")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kpanic",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--db",
            database,
            "--workers",
            str(workers),
        ],
        env=full_env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )
    log_file.close()
    return wait_ready(proc, port, database, log_path)


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[object]:
    """A factory: ``serve(env={...})`` starts ``kpanic serve`` on SQLite; all are stopped after."""
    servers: list[LiveServer] = []

    def start(env: dict[str, str] | None = None, db: str | None = None) -> LiveServer:
        n = len(servers)
        server = start_kpanic_serve(
            db or f"sqlite:///{tmp_path / f'serve{n}.db'}", tmp_path / f"serve{n}.log", env=env
        )
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
