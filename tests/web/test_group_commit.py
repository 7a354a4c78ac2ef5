"""Concurrent submissions share commits (group commit) and each gets its own, exact answer."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from kpanic.settings import get_settings
from kpanic.web.app import create_app
from kpanic.web.config import WebConfig
from tests.web.conftest import DEMO


def _logs() -> list[str]:
    logs = [p.read_text() for p in sorted(DEMO.glob("syzkaller-*.txt"))[:6]]
    # the same crash twice with different console noise: distinct reports, one group (each
    # with a line of its own: a log that merely extends another is a piece of the same crash
    # and joins it, kpanic.store.join)
    noisy = [f"{logs[0]}[99999.{i:06d}] random: crng reseeded\n" for i in (1, 2)]
    return [noisy[0], *logs[1:], noisy[1]]


async def _submit_all(app: object, logs: list[str]) -> list[httpx.Response]:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        return await asyncio.gather(
            *(client.post("/api/v1/reports?wait=10", json={"log": log}) for log in logs)
        )


def _run(app: object, logs: list[str]) -> list[httpx.Response]:
    """Run the submissions on a fresh event loop in its own thread (the browser tests leave a
    loop running in the main thread)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, _submit_all(app, logs)).result()


def test_concurrent_submissions_are_batched_and_exact(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kpanic.store import queue
    from kpanic.worker import Worker, WorkerConfig

    cfg = WebConfig()
    cfg.rate_limit = 0
    app = create_app(get_settings(db_url), cfg)
    logs = _logs()
    batches: list[int] = []
    enqueue_many = queue.enqueue_many

    def counting(engine: object, items: list) -> list:  # type: ignore[type-arg]
        batches.append(len(items))
        if len(batches) == 1:
            time.sleep(0.5)  # a slow first commit: the requests behind it queue up meanwhile
        return enqueue_many(engine, items)  # type: ignore[arg-type]

    monkeypatch.setattr(queue, "enqueue_many", counting)
    stop = threading.Event()
    worker = Worker(WorkerConfig(db_url, poll_s=0.01), stop)
    thread = threading.Thread(target=worker.run)
    thread.start()
    try:
        first = _run(app, logs + logs[:2])
        assert all(r.status_code in (200, 201) for r in first), [r.text for r in first]
        ids = [r.json()["id"] for r in first]
        assert len(set(ids[: len(logs)])) == len(logs)  # one report per distinct text
        assert ids[len(logs) :] == ids[:2]  # the same text twice in flight: one report
        assert sum(r.json()["is_new"] for r in first) == len(logs)
        assert first[0].json()["group_id"] == first[len(logs) - 1].json()["group_id"]
        assert max(batches) > 1  # requests that queued behind a commit share the next one
        again = _run(app, logs)
        assert [r.status_code for r in again] == [200] * len(logs)
        assert [r.json()["id"] for r in again] == ids[: len(logs)]
        assert len(batches) == 2 or sum(batches[1:]) == len(logs) + 2 - batches[0]  # no requeue
        stats = app.state.repo.stats()
        assert stats.total == len(logs)
    finally:
        stop.set()
        thread.join(30)
        worker.close()
        app.state.repo.close()
