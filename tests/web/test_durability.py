"""No acknowledged submission is ever lost: SIGKILL the web process and the workers in the
middle of a load, restart them, and find every acknowledged submission analysed and stored.

At the kill some acknowledged submissions are still queued and some are in a worker's hands
(claimed, being analysed or stored): the test checks that both kinds were there and that both
end up as reports after the restart (the dead worker's lease ends and another claims them)."""

from __future__ import annotations

import signal
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.web.conftest import demo_log, start_server

pytestmark = pytest.mark.slow

LEASE = {"KPANIC_WORKER_LEASE_S": "2"}


def _states(db_url: str) -> dict[str, int]:
    from sqlalchemy import create_engine, text

    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT status, count(*) FROM submissions GROUP BY status"))
            return {str(r[0]): int(r[1]) for r in rows}
    finally:
        engine.dispose()


def test_every_acknowledged_submission_survives_sigkill(db_url: str, tmp_path: Path) -> None:
    from kpanic.store.ingest import content_hash

    base_log = demo_log(428)
    server = start_server(db_url, tmp_path / "server.log", env=LEASE)
    acked: dict[int, str] = {}
    lock = threading.Lock()
    stop = threading.Event()
    errors: list[str] = []

    def client() -> None:
        with httpx.Client(base_url=server.url, timeout=10) as http:
            while not stop.is_set():
                marker = f"kpanic-durability-{uuid.uuid4().hex}"
                log = f"[    0.000000] {marker}\n{base_log}"
                try:
                    r = http.post("/api/v1/reports", json={"log": log})
                except httpx.HTTPError:
                    continue  # the server is gone: this one was never acknowledged
                if r.status_code == 202:
                    with lock:
                        acked[r.json()["submission_id"]] = content_hash(log)
                else:
                    errors.append(f"{r.status_code} {r.text[:200]}")

    threads = [threading.Thread(target=client) for _ in range(6)]
    for t in threads:
        t.start()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            states = _states(db_url)
            if len(acked) >= 40 and states.get("queued", 0) and states.get("running", 0):
                break
            time.sleep(0.02)
        server.stop(signal.SIGKILL)  # web and workers: requests in flight, batches in hand
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=30)
        server.stop()
    at_kill = _states(db_url)
    assert not errors, errors[:3]
    assert len(acked) >= 40, "the load did not get going"
    assert at_kill.get("queued", 0) > 0, at_kill  # acknowledged, not yet claimed
    assert at_kill.get("running", 0) > 0, at_kill  # claimed by the killed worker

    restarted = start_server(db_url, tmp_path / "server2.log", env=LEASE)
    try:
        with httpx.Client(base_url=restarted.url, timeout=30) as http:
            missing = []
            for sid, digest in acked.items():
                r = http.get(f"/api/v1/submissions/{sid}?wait=20")
                body = r.json()
                if body.get("status") != "done":
                    missing.append((sid, body.get("status"), body.get("error")))
                    continue
                # The content hash identifies the exact log (its text may be pruned).
                report = http.get(f"/api/v1/reports/{body['report_id']}").json()
                if report["content_hash"] != digest:
                    missing.append((sid, "wrong report", report["content_hash"]))
            assert not missing, f"{len(missing)} acknowledged submissions lost: {missing[:5]}"
            assert http.get("/api/v1/reports").json()["total"] >= len(acked)
    finally:
        restarted.stop()
