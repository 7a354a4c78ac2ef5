"""Worker processes: take queued submissions in batches, analyse them, store the reports.

``kpanic worker --queue text`` (URLs, QR payloads, logs) claims up to ``batch`` submissions at
once, runs the pipeline stages on each (:mod:`kpanic.pipeline.stages`), stores the lot with
one group commit (``Repository.store_many``) and marks the queue rows done. ``--queue photo``
takes one photo at a time and decodes it in a child process whose CPU time is capped with
``RLIMIT_CPU`` (the kernel kills it at the limit, whatever the decoder does), so a photo flood
costs at most one core per photo worker and never delays text submissions.

What can go wrong, and what happens:

- the input is bad (a :class:`~kpanic.errors.KpanicError`): ``rejected`` with the HTTP status
  and message of :mod:`kpanic.pipeline.errors`; no retry;
- the code raises anything else: the row goes back to the queue (attempts counted) and after
  ``max_attempts`` is ``failed`` with the error (the admin sees it);
- the worker dies (SIGKILL, segfault): its rows stay ``running`` until the lease ends, then
  another claim takes them (bounded by ``max_attempts`` as well);
- a database error: the rows go back to the queue without using an attempt; the worker waits
  a little and goes on;
- SIGTERM: the worker finishes the batch in hand (a photo in decoding is stopped and given
  back), then exits; nothing acknowledged is lost.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from kpanic import observe
from kpanic.errors import KpanicError
from kpanic.pipeline import stages
from kpanic.pipeline.errors import http_status
from kpanic.pipeline.limits import Limits
from kpanic.pipeline.submission import Queue
from kpanic.store import queue as q
from kpanic.store.batch import MAX_BATCH, Pending
from kpanic.store.ingest import PreparedReport
from kpanic.store.views import ClientInfo, IngestResult

log = logging.getLogger("kpanic.worker")


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    database_url: str
    queue: Queue = "text"
    batch: int = MAX_BATCH
    lease_s: float = 60.0  # a claimed row is taken again this long after its worker died
    max_attempts: int = q.DEFAULT_MAX_ATTEMPTS
    poll_s: float = 0.02  # idle: how often to look for new submissions
    limits: Limits = field(default_factory=Limits.from_settings)

    @classmethod
    def from_env(cls, database_url: str, queue: Queue, **overrides: Any) -> WorkerConfig:
        from kpanic.web.config import WebConfig

        web = WebConfig.from_env()
        from kpanic.settings import get_settings

        limits = Limits.from_settings(
            get_settings(database_url),
            max_photo_pixels=web.max_photo_pixels,
            max_kmsg_bytes=web.max_kmsg_bytes,
            photo_cpu_s=web.photo_cpu_s,
        )
        values: dict[str, Any] = {
            "database_url": database_url,
            "queue": queue,
            "batch": min(MAX_BATCH, int(os.environ.get("KPANIC_WORKER_BATCH") or MAX_BATCH))
            if queue == "text"
            else 1,
            "lease_s": float(os.environ.get("KPANIC_WORKER_LEASE_S") or 0)
            or (60.0 if queue == "text" else 3 * limits.photo_cpu_s + 30),
            "max_attempts": int(os.environ.get("KPANIC_WORKER_MAX_ATTEMPTS") or 0)
            or q.DEFAULT_MAX_ATTEMPTS,
            "limits": limits,
        }
        values.update(overrides)
        return cls(**values)


def _client(job: q.Job) -> ClientInfo:
    o = job.submission.origin
    return ClientInfo(
        via=o.via, ip=o.client, user_agent=o.user_agent, token_name=o.token_name, machine=o.machine
    )


class Worker:
    """One worker loop for one queue (a process runs one; tests may run them in threads)."""

    def __init__(self, cfg: WorkerConfig, stop: threading.Event | None = None) -> None:
        from kpanic.settings import get_settings
        from kpanic.store.repository import Repository

        self.cfg = cfg
        self.stop = stop or threading.Event()
        settings = cfg.limits.settings(get_settings(cfg.database_url))
        self.repo = Repository(cfg.database_url, settings=settings)
        self.engine = self.repo.engine
        self.processed = 0
        self._purged_until: dt.datetime | None = None  # kpanic.store.retention's watermark
        self._next_purge = 0.0

    def close(self) -> None:
        self.repo.close()

    def run(self) -> None:
        """Work until :attr:`stop` is set (SIGTERM sets it), then return."""
        log.info("worker for the %s queue started (pid %d)", self.cfg.queue, os.getpid())
        backoff = 0.0
        while not self.stop.is_set():
            try:
                busy = self.run_once()
                backoff = 0.0
            except SQLAlchemyError as exc:
                backoff = min(5.0, backoff * 2 or 0.1)
                log.error("database error in the %s worker: %s", self.cfg.queue, exc)
                busy = False
            except Exception:  # never let the loop die: log, wait, go on
                backoff = min(5.0, backoff * 2 or 0.1)
                log.exception("unexpected error in the %s worker", self.cfg.queue)
                busy = False
            if not busy:
                self._housekeeping()
                self.stop.wait(self.cfg.poll_s + backoff)
        log.info("worker for the %s queue stopped (%d processed)", self.cfg.queue, self.processed)

    def _housekeeping(self) -> None:
        """When idle, now and then: drop sender keys past their retention (text workers)."""
        if self.cfg.queue != "text" or time.monotonic() < self._next_purge:
            return
        from kpanic.store.retention import PURGE_EVERY_S, purge_submitter_keys

        self._next_purge = time.monotonic() + PURGE_EVERY_S
        try:
            n, self._purged_until = purge_submitter_keys(self.engine, since=self._purged_until)
        except SQLAlchemyError as exc:
            log.error("purging old sender keys failed: %s", exc)
            return
        if n:
            log.info("removed the sender key from %d reports past their retention", n)

    def run_once(self) -> bool:
        """Claim and process one batch; False when the queue was empty."""
        jobs = q.claim(
            self.engine,
            self.cfg.queue,
            self.cfg.batch,
            lease_s=self.cfg.lease_s,
            max_attempts=self.cfg.max_attempts,
        )
        if not jobs:
            return False
        if self.cfg.queue == "photo":
            for job in jobs:
                self._photo(job)
        else:
            self._text(jobs)
        return True

    # --------------------------------------------------------------- text submissions

    def _text(self, jobs: Sequence[q.Job]) -> None:
        prepared: list[tuple[q.Job, PreparedReport]] = []
        rejected: list[tuple[int, int, str]] = []
        for job in jobs:
            token = observe.request_id.set(job.submission.origin.request_id)
            try:
                with observe.timed("decode"):
                    decoded = stages.decode(job.submission, self.cfg.limits)
                with observe.timed("analyse"):
                    prepared.append((job, stages.analyse(decoded, self.cfg.limits)))
            except KpanicError as exc:
                rejected.append((job.id, *http_status(exc)))
                log.info("submission %d rejected: %s", job.id, exc)
            except Exception as exc:  # a bug in a stage: bounded retries, then failed
                log.exception("submission %d: analysis raised", job.id)
                self._retry_or_fail(job, f"{type(exc).__name__}: {exc}")
            finally:
                observe.request_id.reset(token)
        q.mark_rejected(self.engine, rejected)
        observe.PROCESSED.labels(self.cfg.queue, "rejected").inc(len(rejected))
        with observe.timed("store"):
            self._store(prepared)
        self.processed += len(jobs)

    def _store(self, prepared: Sequence[tuple[q.Job, PreparedReport]]) -> None:
        if not prepared:
            return
        pending = [
            Pending(p, _client(job), received_at=job.created_at, submission_id=job.id)
            for job, p in prepared
        ]
        try:
            results: Sequence[IngestResult] = self.repo.store_many(pending)
        except SQLAlchemyError:
            q.release(self.engine, [job.id for job, _ in prepared], count_attempt=False)
            raise
        except Exception:
            if len(prepared) == 1:
                job = prepared[0][0]
                log.exception("submission %d: storing raised", job.id)
                self._retry_or_fail(job, "storing the report failed")
                return
            for one in prepared:  # one bad item must not hold back the others
                self._store([one])
            return
        done = [(job, r) for (job, _), r in zip(prepared, results, strict=True)]
        q.mark_done(self.engine, [(job.id, r) for job, r in done])
        observe.PROCESSED.labels(self.cfg.queue, "done").inc(len(done))
        for job, r in done:
            log.debug(
                "submission %d stored as report %d%s",
                job.id,
                r.report_id,
                "" if r.is_new else " (already stored)",
                extra={"request_id": job.submission.origin.request_id or "-"},
            )

    def _retry_or_fail(self, job: q.Job, error: str) -> None:
        if job.attempts >= self.cfg.max_attempts:
            q.mark_failed(self.engine, [job.id], f"after {job.attempts} attempts: {error}")
        else:
            q.release(self.engine, [job.id], error=error)

    # --------------------------------------------------------------- photos

    def _photo(self, job: q.Job) -> None:
        started = time.perf_counter()
        outcome = decode_photo_in_child(job, self.cfg.limits, self.stop)
        observe.PHOTO_SECONDS.observe(time.perf_counter() - started)
        if outcome is None:  # stopping: give the job back untouched
            q.release(self.engine, [job.id], count_attempt=False)
            return
        kind, value = outcome
        if kind == "ok":
            self._store([(job, value)])
        elif kind == "rejected":
            q.mark_rejected(self.engine, [(job.id, *value)])
        else:
            self._retry_or_fail(job, str(value))
        self.processed += 1


# ------------------------------------------------------------------- photo child processes


def _photo_child(conn: Any, job: q.Job, limits: Limits) -> None:
    """In the child: cap its CPU time, run the stages, send the outcome back.

    ``ITIMER_PROF`` (process CPU time, microseconds) ends the child with SIGPROF at the limit;
    ``RLIMIT_CPU`` (whole seconds) is the kernel's backstop should anything catch SIGPROF."""
    import resource
    import signal

    signal.signal(signal.SIGPROF, signal.SIG_DFL)
    import cv2

    cv2.setNumThreads(1)  # one photo, one core: OpenCV's thread pool would share the CPU cap
    signal.setitimer(signal.ITIMER_PROF, max(0.001, limits.photo_cpu_s))
    seconds = max(1, math.ceil(limits.photo_cpu_s)) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds + 1))
    try:
        conn.send(("ok", stages.prepare(job.submission, limits)))
    except KpanicError as exc:
        conn.send(("rejected", http_status(exc)))
    except Exception as exc:
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


_ctx_lock = threading.Lock()
_ctx: Any = None


def _mp_context() -> Any:
    """A forkserver context with the decoders imported once: each photo runs in a fresh child
    (a new CPU-time account) forked from it in milliseconds, not a new interpreter."""
    global _ctx
    import multiprocessing

    with _ctx_lock:
        if _ctx is None:
            ctx = multiprocessing.get_context("forkserver")
            ctx.set_forkserver_preload(["kpanic.pipeline.stages", "kpanic.qr.image"])
            _ctx = ctx
    return _ctx


def decode_photo_in_child(
    job: q.Job, limits: Limits, stop: threading.Event
) -> tuple[str, Any] | None:
    """Run the photo's stages in a child process: ("ok", PreparedReport), ("rejected",
    (status, message)) or ("error", message); None when ``stop`` was set meanwhile."""
    ctx = _mp_context()
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_photo_child, args=(child, job, limits), daemon=True)
    started = time.monotonic()
    proc.start()
    child.close()
    wall = 3 * limits.photo_cpu_s + 10  # the CPU limit is the real bound; this is a backstop
    try:
        while True:
            if parent.poll(0.05):
                try:
                    outcome: tuple[str, Any] = parent.recv()
                except EOFError:  # died without an answer (killed at the CPU limit)
                    break
                return outcome
            if stop.is_set():
                return None
            if not proc.is_alive() or time.monotonic() - started > wall:
                break
        proc.kill()
        proc.join(5)
        log.warning(
            "submission %d: photo decoding stopped at the limit (exit %s)", job.id, proc.exitcode
        )
        return (
            "rejected",
            (
                422,
                f"decoding this photo took more than the limit of {limits.photo_cpu_s:g} s "
                "of CPU time",
            ),
        )
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join(5)
        parent.close()


def run_forever(cfg: WorkerConfig) -> int:
    """``kpanic worker``: run until SIGTERM or SIGINT (finishing the batch in hand)."""
    import signal

    worker = Worker(cfg)

    def _stop(signum: int, _frame: Any) -> None:
        log.info("signal %d: finishing the batch in hand, then stopping", signum)
        worker.stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        worker.run()
    finally:
        worker.close()
    return 0
