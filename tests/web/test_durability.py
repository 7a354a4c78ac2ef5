"""No acknowledged report is ever lost: SIGKILL the server in the middle of a load of
submissions, restart it, and find every report it acknowledged."""

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


def test_every_acknowledged_report_survives_sigkill(db_url: str, tmp_path: Path) -> None:
    from kpanic.store.ingest import content_hash

    base_log = demo_log(428)
    server = start_server(db_url, tmp_path / "server.log")
    acked: dict[int, str] = {}
    lock = threading.Lock()
    stop = threading.Event()
    errors: list[str] = []

    def worker() -> None:
        with httpx.Client(base_url=server.url, timeout=10) as http:
            while not stop.is_set():
                marker = f"kpanic-durability-{uuid.uuid4().hex}"
                log = f"[    0.000000] {marker}\n{base_log}"
                try:
                    r = http.post("/api/v1/reports?wait=10", json={"log": log})
                except httpx.HTTPError:
                    continue  # the server is gone: this one was never acknowledged
                if r.status_code == 201:
                    with lock:
                        acked[r.json()["id"]] = content_hash(log)
                else:
                    errors.append(f"{r.status_code} {r.text[:200]}")

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        deadline = time.monotonic() + 60
        while len(acked) < 25 and time.monotonic() < deadline:
            time.sleep(0.05)
        server.stop(signal.SIGKILL)  # mid-run: requests are in flight
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=30)
        server.stop()
    assert not errors, errors[:3]
    assert len(acked) >= 25, "the load did not get going"

    restarted = start_server(db_url, tmp_path / "server2.log")
    try:
        with httpx.Client(base_url=restarted.url, timeout=10) as http:
            missing = []
            for report_id, digest in acked.items():
                # The content hash identifies the exact log (its text may be pruned: the
                # store keeps full texts for a sample of each group's reports).
                r = http.get(f"/api/v1/reports/{report_id}")
                if r.status_code != 200 or r.json()["content_hash"] != digest:
                    missing.append(report_id)
            assert not missing, f"{len(missing)} acknowledged reports were lost: {missing[:10]}"
            total = http.get("/api/v1/reports").json()["total"]
            assert total >= len(acked)
    finally:
        restarted.stop()
