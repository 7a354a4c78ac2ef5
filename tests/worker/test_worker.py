"""The analysis workers: batches, rejections, retries, poison jobs, leases, SIGTERM drain,
photos in CPU-capped child processes, on SQLite and PostgreSQL."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest

from kpanic.pipeline.limits import Limits
from kpanic.pipeline.submission import Origin, Submission
from kpanic.store import queue
from kpanic.store.db import make_engine, upgrade
from kpanic.worker import Worker, WorkerConfig
from tests.web.conftest import demo_log, start_worker


def _log(n: int = 428) -> str:
    return f"[    0.000000] kpanic-worker-{uuid.uuid4().hex}\n{demo_log(n)}"


@pytest.fixture
def engine(db_url: str):  # type: ignore[no-untyped-def]
    upgrade(db_url)
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


def _worker(db_url: str, **cfg: object) -> Worker:
    return Worker(WorkerConfig(db_url, **cfg))  # type: ignore[arg-type]


def _one(engine, sid: int) -> queue.State:  # type: ignore[no-untyped-def]
    state = queue.states(engine, [sid])[0]
    assert state is not None
    return state


def test_a_batch_is_analysed_stored_and_marked_done(db_url: str, engine) -> None:  # type: ignore[no-untyped-def]
    subs = [Submission("log", _log(n), Origin(via="api", client="k1")) for n in (428, 310, 428)]
    garbage = Submission("log", "just some words, no crash in here\n")
    accepted = queue.enqueue_many(engine, [*subs, garbage])
    worker = _worker(db_url)
    try:
        assert worker.run_once() is True
        assert worker.run_once() is False  # the queue is empty now
    finally:
        worker.close()
    states = [_one(engine, a.id) for a in accepted]
    assert [s.status for s in states] == ["done", "done", "done", "rejected"]
    assert all(s.report_id is not None and s.is_new for s in states[:3])
    assert len({s.report_id for s in states[:3]}) == 3
    assert states[0].report is not None and states[0].report["title"]
    assert states[3].error_status == 422 and "no kernel crash" in (states[3].error or "")
    # The raw input is dropped once finished; the hash stays for repeats.
    assert queue.done_by_raw_hash(engine, [subs[1].raw_hash()]) == [accepted[1].id]


def test_a_failing_stage_is_retried_then_failed_and_shown_to_the_admin(
    db_url: str,
    engine,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    from kpanic.pipeline import stages

    calls = []

    def broken(decoded: object, limits: Limits) -> object:
        calls.append(decoded)
        raise RuntimeError("a bug in a stage")

    monkeypatch.setattr(stages, "analyse", broken)
    (acc,) = queue.enqueue_many(engine, [Submission("log", _log())])
    worker = _worker(db_url, max_attempts=3)
    try:
        for _ in range(5):
            worker.run_once()
    finally:
        worker.close()
    state = _one(engine, acc.id)
    assert len(calls) == 3  # bounded retries
    assert state.status == "failed" and "a bug in a stage" in (state.error or "")
    assert [s.id for s in queue.failed(engine)] == [acc.id]
    assert queue.stats(engine)[0].failed == 1


def test_a_dead_workers_rows_are_claimed_again_after_the_lease_then_given_up(
    db_url: str,
    engine,  # type: ignore[no-untyped-def]
) -> None:
    (acc,) = queue.enqueue_many(engine, [Submission("log", _log())])
    # A worker claims the row and dies (never finishes it).
    assert [j.id for j in queue.claim(engine, "text", 10, lease_s=0.2)] == [acc.id]
    assert queue.claim(engine, "text", 10, lease_s=0.2) == []  # leased: nobody else takes it
    time.sleep(0.3)
    again = queue.claim(engine, "text", 10, lease_s=0.2, max_attempts=2)
    assert [j.id for j in again] == [acc.id] and again[0].attempts == 2
    time.sleep(0.3)  # died again: the last attempt is used up
    assert queue.claim(engine, "text", 10, lease_s=0.2, max_attempts=2) == []
    state = _one(engine, acc.id)
    assert state.status == "failed" and "gave up after 2 attempts" in (state.error or "")


def test_sigterm_drains_and_nothing_is_lost(db_url: str, engine, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    accepted = queue.enqueue_many(engine, [Submission("log", _log()) for _ in range(300)])
    proc = start_worker(db_url, tmp_path / "worker.log")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        stats = queue.stats(engine)[0]
        if stats.waiting < 300:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0, (tmp_path / "worker.log").read_text()
    states = [_one(engine, a.id) for a in accepted]
    counts = {s: sum(1 for x in states if x.status == s) for s in ("done", "queued", "running")}
    assert counts["running"] == 0, counts  # the batch in hand was finished, not abandoned
    assert counts["done"] > 0, counts
    # A new worker takes the rest; every one ends up stored.
    proc = start_worker(db_url, tmp_path / "worker2.log")
    try:
        deadline = time.monotonic() + 120
        while queue.stats(engine)[0].waiting and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    assert all(_one(engine, a.id).status == "done" for a in accepted)


def _screen_png(width: int = 1600, height: int = 1200) -> bytes:
    from kpanic.qr.kmsg import build_url, url_mode
    from kpanic.qr.render import render_screen_png

    code = url_mode(demo_log(740), build_url("https://h/r", arch="x86_64", kernel="6.15")).code
    return bytes(render_screen_png(code, width=width, height=height))


def _hostile_png(reps: int = 20) -> bytes:
    """Finder patterns tiled over a small PNG (1.6 KB): the decoder tries every candidate,
    over a second of CPU (issue 12 defect 1 describes the same attack)."""
    import io

    import numpy as np
    from PIL import Image

    finder = np.ones((7, 7))
    finder[1:6, 1:6] = 0
    finder[2:5, 2:5] = 1
    tile = np.pad(np.kron(finder, np.ones((3, 3))), 3)
    img = ((1 - np.tile(tile, (reps, reps))) * 255).astype("uint8")
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "PNG")
    return buf.getvalue()


def test_a_photo_over_its_cpu_budget_is_killed_and_rejected(db_url: str, engine) -> None:  # type: ignore[no-untyped-def]
    warm, hostile = queue.enqueue_many(
        engine, [Submission("photo", _screen_png()), Submission("photo", _hostile_png())]
    )
    limits = Limits.from_settings(photo_cpu_s=0.1)
    worker = _worker(db_url, queue="photo", batch=1, limits=limits)
    try:
        worker.run_once()  # starts the fork server
        started = time.monotonic()
        worker.run_once()
        elapsed = time.monotonic() - started
    finally:
        worker.close()
    state = _one(engine, hostile.id)
    # Left alone, the decoder ends with "no QR code found" after over a second of CPU; this
    # message is only given when the child process was killed at the budget.
    assert state.status == "rejected" and "CPU time" in (state.error or ""), state
    assert state.error_status == 422
    assert elapsed < 15.0  # (wall time on a loaded machine; the message is the proof)
    assert _one(engine, warm.id).status in ("done", "rejected")


def test_photos_do_not_delay_text_submissions(db_url: str, engine) -> None:  # type: ignore[no-untyped-def]
    photos = queue.enqueue_many(engine, [Submission("photo", _screen_png(4000, 3000))] * 6)
    (text,) = queue.enqueue_many(engine, [Submission("log", _log())])
    stop = threading.Event()
    limits = Limits.from_settings(photo_cpu_s=5.0)
    photo_worker = Worker(
        WorkerConfig(
            engine.url.render_as_string(hide_password=False), queue="photo", batch=1, limits=limits
        ),
        stop,
    )
    text_worker = _worker(engine.url.render_as_string(hide_password=False))
    thread = threading.Thread(target=photo_worker.run)
    thread.start()
    try:
        time.sleep(0.3)  # the photo worker is busy decoding
        started = time.monotonic()
        while _one(engine, text.id).status != "done":
            text_worker.run_once()
            assert time.monotonic() - started < 2.0
    finally:
        stop.set()
        thread.join(60)
        photo_worker.close()
        text_worker.close()
    assert _one(engine, photos[-1].id).status in ("queued", "done", "rejected")


def test_serve_starts_and_stops_its_workers(tmp_path: Path) -> None:
    import os
    import sys

    import httpx

    from tests.web.conftest import free_port

    port = free_port()
    db = f"sqlite:///{tmp_path / 'serve.db'}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "kpanic.cli", "serve", "--db", db, "--port", str(port)],
        env={**os.environ, "KPANIC_RATE_LIMIT": "0"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        r = httpx.post(url + "/api/v1/reports?wait=20", json={"log": _log()}, timeout=30)
        assert r.status_code == 201, r.text  # analysed by the workers serve started
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0


def test_claims_are_fair_across_senders(db_url: str, engine) -> None:  # type: ignore[no-untyped-def]
    """One sender's queued flood does not go before another sender's first submission."""
    flood = [Submission("photo", _hostile_png(), Origin(client="attacker"))] * 6
    queue.enqueue_many(engine, flood)
    (person,) = queue.enqueue_many(engine, [Submission("photo", b"x", Origin(client="person"))])
    (first,) = queue.claim(engine, "photo", 1, lease_s=30)
    assert first.submission.origin.client == "attacker"  # the oldest row: nobody else waited
    (second,) = queue.claim(engine, "photo", 1, lease_s=30)
    assert second.id == person.id  # the attacker already has one running
    rest = queue.claim(engine, "photo", 10, lease_s=30)
    assert [j.submission.origin.client for j in rest] == ["attacker"] * 5
    # Rows without a sender (the operator's CLI and imports) are never held back.
    queue.enqueue_many(engine, [Submission("log", _log(), Origin(client="a"))] * 3)
    (cli,) = queue.enqueue_many(engine, [Submission("log", _log(), Origin(via="cli"))])
    taken = [j.id for j in queue.claim(engine, "text", 2, lease_s=30)]
    assert cli.id in taken


def _through_worker(engine, items: list[Submission]) -> float:  # type: ignore[no-untyped-def]
    """Seconds until a photo worker has finished ``items`` (fresh worker, warm fork server)."""
    accepted = queue.enqueue_many(engine, items)
    worker = Worker(
        WorkerConfig(engine.url.render_as_string(hide_password=False), queue="photo", batch=1)
    )
    try:
        started = time.monotonic()
        while any(_one(engine, a.id).status not in ("done", "rejected") for a in accepted):
            worker.run_once()
        return time.monotonic() - started
    finally:
        worker.close()


def test_a_valid_photo_behind_a_hostile_flood_is_answered_quickly(db_url: str, engine) -> None:  # type: ignore[no-untyped-def]
    """Issue 12 defect 1, end to end: six hostile photos from one client, then a valid photo
    from another. Before: 19.2 s behind six. Now fair claims put it next, so it waits for at
    most the one hostile decode in hand, which the decoder's budget and the child process's CPU
    limit bound. Measured against this machine's own cost of one hostile and one valid photo
    (the test must hold on a loaded machine too; BENCHMARKS.md has the quiet-machine figure)."""
    from tests.qr.image.test_budget import fake_finder_tiling

    hostile = fake_finder_tiling(1000, 3, 4)  # the 3.6 KB tiling
    screen = _screen_png()
    _through_worker(engine, [Submission("photo", screen, Origin(client="warm-up"))])
    one_hostile = _through_worker(engine, [Submission("photo", hostile, Origin(client="h"))])
    one_valid = _through_worker(engine, [Submission("photo", screen + b"\0", Origin(client="v"))])
    queue.enqueue_many(engine, [Submission("photo", hostile, Origin(client="attacker"))] * 6)
    stop = threading.Event()
    worker = Worker(
        WorkerConfig(engine.url.render_as_string(hide_password=False), queue="photo", batch=1),
        stop,
    )
    thread = threading.Thread(target=worker.run)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while not any(s and s.status == "running" for s in queue.states(engine, [4, 5, 6, 7])):
            assert time.monotonic() < deadline
            time.sleep(0.02)
        (valid,) = queue.enqueue_many(
            engine, [Submission("photo", screen + b"\0\0", Origin(client="person"))]
        )
        started = time.monotonic()
        while _one(engine, valid.id).status not in ("done", "rejected"):
            assert time.monotonic() - started < 60
            time.sleep(0.02)
        elapsed = time.monotonic() - started
    finally:
        stop.set()
        thread.join(60)
        worker.close()
    flood = [s.status for s in queue.states(engine, list(range(4, valid.id))) if s]
    assert _one(engine, valid.id).status == "done"
    assert flood.count("queued") >= 4, flood  # it went before the rest of the flood
    bound = 2 * one_hostile + one_valid + 1.0  # six hostile decodes ahead would be 6x
    assert elapsed < bound, (elapsed, one_hostile, one_valid, flood)
