"""Scale-out on PostgreSQL: two web processes and two text workers share one database; every
submission is analysed exactly once and both workers take a share."""

from __future__ import annotations

import re
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.web.conftest import demo_log, start_server

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def test_two_web_processes_and_two_workers_on_one_postgres(pg_url: str, tmp_path: Path) -> None:
    env = {"KPANIC_WORKER_BATCH": "4"}  # small batches: both workers get some
    web1 = start_server(pg_url, tmp_path / "web1.log", queues=("text",), env=env)
    web2 = start_server(pg_url, tmp_path / "web2.log", queues=("text",), env=env)
    try:
        deadline = time.monotonic() + 60  # both workers up before the load starts
        while time.monotonic() < deadline and not all(
            "text queue started" in server.log() for server in (web1, web2)
        ):
            time.sleep(0.1)
        logs = [
            f"[    0.000000] kpanic-scale-{uuid.uuid4().hex}\n{demo_log(428)}" for _ in range(80)
        ]

        def send(i: int) -> httpx.Response:
            base = (web1 if i % 2 else web2).url
            return httpx.post(base + "/api/v1/reports", json={"log": logs[i]}, timeout=30)

        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(send, range(len(logs))))
        assert all(r.status_code == 202 for r in answers), [r.text for r in answers[:3]]
        reports = []
        for i, r in enumerate(answers):
            base = (web2 if i % 2 else web1).url  # ask the other web process
            state = httpx.get(base + r.json()["status_url"] + "?wait=30", timeout=60).json()
            assert state["status"] == "done" and state["is_new"], state
            reports.append(state["report_id"])
        assert len(set(reports)) == len(logs)  # analysed once each, none twice
        total = httpx.get(web1.url + "/api/v1/reports").json()["total"]
        assert total == len(logs)
    finally:
        web1.stop()
        web2.stop()
    shares = []
    for name in ("web1.log", "web2.log"):
        found = re.findall(r"text queue stopped \((\d+) processed\)", (tmp_path / name).read_text())
        shares += [int(n) for n in found]
    assert sum(shares) == len(logs) and all(n > 0 for n in shares), shares
