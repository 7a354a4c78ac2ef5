"""Metrics (Prometheus) and structured logs shared by the web and worker processes.

Metrics: counters and histograms live in each process; when ``PROMETHEUS_MULTIPROC_DIR`` is
set (``kpanic serve`` sets it for the web and worker processes it starts) ``/metrics`` adds up
every process's values. Queue depth and age are read from the database at scrape time, so they
are right whichever processes run where. A worker on another host can serve its own metrics
(``kpanic worker --metrics-port``).

Logs: every record carries ``request_id`` (the web request that made a submission, carried
into the worker that analyses it); ``KPANIC_LOG_JSON=1`` writes one JSON object per line.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

SUBMISSIONS = Counter(
    "kpanic_submissions_total",
    "Submissions answered by the web processes, by route and outcome",
    ["route", "outcome"],
)
PROCESSED = Counter(
    "kpanic_processed_total",
    "Submissions finished by the workers, by queue and status",
    ["queue", "status"],
)
STAGE_SECONDS = Histogram(
    "kpanic_stage_seconds",
    "Time per pipeline stage and submission (store: per batch)",
    ["stage"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
PHOTO_SECONDS = Histogram(
    "kpanic_photo_decode_seconds",
    "Wall time of one photo's decoding process",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 20),
)
DATABASE_ERRORS = Counter("kpanic_database_errors_total", "Database errors answered 503")
RATE_LIMITED = Counter("kpanic_rate_limited_total", "Requests refused by the rate limiter (429)")


@contextmanager
def timed(stage: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        STAGE_SECONDS.labels(stage).observe(time.perf_counter() - started)


class QueueCollector:
    """Queue depth, oldest waiting age and failed count per queue, read at scrape time."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from kpanic.store import queue

        depth = GaugeMetricFamily("kpanic_queue_depth", "Submissions waiting", labels=["queue"])
        age = GaugeMetricFamily(
            "kpanic_queue_oldest_age_seconds", "Age of the oldest waiting one", labels=["queue"]
        )
        failed = GaugeMetricFamily(
            "kpanic_queue_failed", "Submissions given up (poison jobs)", labels=["queue"]
        )
        try:
            stats = queue.stats(self.engine)
        except Exception:  # the database is down: /readyz says so; metrics stay available
            stats = []
        for s in stats:
            depth.add_metric([s.queue], s.waiting)
            age.add_metric([s.queue], s.oldest_age_s)
            failed.add_metric([s.queue], s.failed)
        yield depth
        yield age
        yield failed


def render_metrics(engine: Any) -> bytes:
    """The Prometheus text exposition of this service (all processes when multiprocess)."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        from prometheus_client import REGISTRY

        registry = REGISTRY  # type: ignore[assignment]
        return generate_latest(registry) + generate_latest(_queue_registry(engine))
    registry.register(QueueCollector(engine))  # type: ignore[arg-type]
    return generate_latest(registry)


def _queue_registry(engine: Any) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(QueueCollector(engine))  # type: ignore[arg-type]
    return registry


# ----------------------------------------------------------------------------- logs

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "kpanic_request_id", default=None
)


class RequestIdFilter(logging.Filter):
    """Adds ``record.request_id`` (or "-") to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id.get() or "-"
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
            "pid": record.process,
        }
        for key in ("submission_id", "queue"):
            if hasattr(record, key):
                out[key] = getattr(record, key)
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out)


def configure_logging(level: str = "info") -> None:
    """Logs to stderr with the request id (JSON lines when ``KPANIC_LOG_JSON=1``)."""
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    if os.environ.get("KPANIC_LOG_JSON") == "1":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s")
        )
    root = logging.getLogger("kpanic")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False
