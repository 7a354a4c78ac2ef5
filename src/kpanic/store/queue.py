"""The submissions queue: accept a raw submission durably, let workers claim it in batches.

The row that acknowledges a submission is also its job (``submissions`` table,
:class:`~kpanic.store.models.QueuedSubmission`), so accepting is one small INSERT and there is
no moment where a report is acknowledged but has no job. Workers claim rows with
``FOR UPDATE SKIP LOCKED`` on PostgreSQL (any number of workers on any number of hosts never
take the same row); on SQLite the claim runs in a ``BEGIN IMMEDIATE`` write transaction, which
serializes claimers. A claimed row carries a lease: a worker that dies (SIGKILL, a crash in a
decoder) leaves it ``running`` until the lease ends, and the next claim takes it again; after
``max_attempts`` claims it is marked ``failed`` instead (a poison job), with the reason.

Statuses: ``queued`` -> ``running`` -> ``done`` (a report) | ``rejected`` (the input's fault:
an HTTP status and message for the client) | ``failed`` (gave up: shown to the admin).

Plain functions over an engine; every one is a short transaction of its own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Engine, bindparam, func, insert, select, text, update
from sqlalchemy.exc import DBAPIError

from kpanic.pipeline.submission import Origin, Submission
from kpanic.store.db import write_session
from kpanic.store.models import QueuedSubmission, Report, ReportSource
from kpanic.store.views import IngestResult

T = TypeVar("T")
DEFAULT_MAX_ATTEMPTS = 3
FINISHED = ("done", "rejected", "failed")

Q = QueuedSubmission


def _retry_dropped(fn: Callable[[], T]) -> T:
    """Run ``fn``; once more if the server had dropped the pooled connection (a restart: the
    pool is renewed, nothing was committed)."""
    try:
        return fn()
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
        return fn()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


@dataclass(frozen=True, slots=True)
class Accepted:
    """A submission stored in the queue (the acknowledgement)."""

    id: int
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Job:
    """A claimed submission: what a worker needs to process it."""

    id: int
    submission: Submission
    attempts: int
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class State:
    """A submission's status and, once done, its report's summary (the status URL's answer)."""

    id: int
    status: str
    kind: str
    created_at: dt.datetime
    finished_at: dt.datetime | None
    attempts: int
    report_id: int | None
    is_new: bool | None
    group_is_new: bool | None
    error_status: int | None
    error: str | None
    report: dict[str, Any] | None  # title, group_id, bug_class, ... of the stored report
    joined: str | None = None  # piece | fuller: joined with report_id (kpanic.store.join)


# ------------------------------------------------------------------------- intake side


def enqueue_many(engine: Engine, items: Sequence[Submission]) -> list[Accepted]:
    """Store submissions as queued in one transaction; their ids in order, after the commit
    (so an acknowledged submission is on disk: SQLite runs with synchronous=FULL)."""
    if not items:
        return []
    now = _now()
    rows = [
        {
            "queue": s.queue,
            "kind": s.kind,
            "data": s.data.encode("utf-8") if isinstance(s.data, str) else s.data,
            "is_text": isinstance(s.data, str),
            "raw_hash": s.raw_hash(),
            "origin": s.origin.to_dict(),
            "client": (s.origin.client or None) and str(s.origin.client)[:64],
            "status": "queued",
            "attempts": 0,
            "created_at": now,
        }
        for s in items
    ]
    stmt = insert(Q).returning(Q.id, sort_by_parameter_order=True)

    def write() -> Sequence[int]:
        with write_session(engine) as session:
            return session.scalars(stmt, rows).all()

    return [Accepted(int(i), now) for i in _retry_dropped(write)]


_DONE_BY_RAW = (
    select(Q.raw_hash, func.max(Q.id).label("id"))
    .where(
        Q.raw_hash.in_(bindparam("hashes", expanding=True)),
        Q.status == "done",
        Q.report_id.is_not(None),
    )
    .group_by(Q.raw_hash)
)


def done_by_raw_hash(engine: Engine, hashes: Sequence[str]) -> list[int | None]:
    """For each raw hash, the id of a finished submission of the same input that has a report
    (a repeat is answered from it without queueing), or None; one indexed query."""
    if not hashes:
        return []

    def read() -> Sequence[Any]:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            return conn.execute(_DONE_BY_RAW, {"hashes": sorted(set(hashes))}).all()

    found = {r.raw_hash: int(r.id) for r in _retry_dropped(read)}
    return [found.get(h) for h in hashes]


_STATE_COLUMNS = (
    Q.id,
    Q.status,
    Q.kind,
    Q.created_at,
    Q.finished_at,
    Q.attempts,
    Q.report_id,
    Q.is_new,
    Q.group_is_new,
    Q.error_status,
    Q.error,
    Report.group_id,
    Report.title,
    Report.bug_class,
    Report.rust_prevents,
    Report.signature,
    Report.language,
    Report.kernel,
    Report.arch,
    ReportSource.role,
)
_STATES = (
    select(*_STATE_COLUMNS)
    .outerjoin(Report, Report.id == Q.report_id)
    .outerjoin(
        ReportSource,
        (ReportSource.submission_id == Q.id) & ReportSource.role.in_(("piece", "fuller")),
    )
    .where(Q.id.in_(bindparam("ids", expanding=True)))
)
# The report columns a finished submission's state carries (and the API answer shows).
REPORT_FIELDS = (
    "group_id",
    "title",
    "bug_class",
    "rust_prevents",
    "signature",
    "language",
    "kernel",
    "arch",
)


def states(engine: Engine, ids: Sequence[int]) -> list[State | None]:
    """The states of these submissions (None for an unknown id), in one query."""
    if not ids:
        return []

    def read() -> Sequence[Any]:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            return conn.execute(_STATES, {"ids": sorted(set(ids))}).all()

    found: dict[int, State] = {}
    for r in _retry_dropped(read):
        report = None
        if r.report_id is not None and r.title is not None:
            report = {name: getattr(r, name) for name in REPORT_FIELDS}
        found[int(r.id)] = State(
            id=int(r.id),
            status=r.status,
            kind=r.kind,
            created_at=_utc(r.created_at) or _now(),
            finished_at=_utc(r.finished_at),
            attempts=int(r.attempts),
            report_id=r.report_id,
            is_new=r.is_new,
            group_is_new=r.group_is_new,
            error_status=r.error_status,
            error=r.error,
            report=report,
            joined=r.role,
        )
    return [found.get(int(i)) for i in ids]


# ------------------------------------------------------------------------- worker side


def _give_up(engine: Engine, queue: str, max_attempts: int) -> int:
    """Mark ``failed`` the rows whose lease ran out after their last allowed attempt."""
    stmt = (
        update(Q)
        .where(
            Q.queue == queue,
            Q.status == "running",
            Q.lease_until < _now(),
            Q.attempts >= max_attempts,
        )
        .values(
            status="failed",
            finished_at=_now(),
            data=None,
            error=(
                f"gave up after {max_attempts} attempts: the worker processing it died "
                "or ran over its lease each time"
            ),
        )
    )
    with write_session(engine) as session:
        return int(session.execute(stmt).rowcount or 0)  # type: ignore[attr-defined]


_WORK = text(
    "SELECT 1 FROM submissions WHERE queue = :queue AND (status = 'queued' "
    "OR (status = 'running' AND lease_until < :now)) LIMIT 1"
)


def has_work(engine: Engine, queue: str) -> bool:
    """Whether a claim would find anything (a read, no write lock: idle workers poll this)."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        return conn.execute(_WORK, {"queue": queue, "now": _now()}).first() is not None


# How far past the oldest claimable rows a claim looks for other senders' rows (x the batch).
CLAIM_SCAN = 8
# A sender's rows finished this recently still count against it when claims are ranked.
FAIR_WINDOW_S = 60.0


def claim(
    engine: Engine,
    queue: str,
    limit: int,
    *,
    lease_s: float,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> list[Job]:
    """Take up to ``limit`` queued submissions of ``queue`` (rows of a dead worker too, once
    their lease has ended) and mark them running for ``lease_s`` seconds.

    Fair across senders: among the oldest ``CLAIM_SCAN`` x ``limit`` claimable rows, each
    sender's rows are ranked (its first row 1, its second 2, ..., counting first its rows
    running now or finished in the last ``FAIR_WINDOW_S`` seconds), and rows are taken by
    rank, then age. One client's twenty hostile photos
    therefore wait behind everybody else's first photo instead of in front of it (issue 12
    defect 1). Rows without a sender key (the operator's CLI and imports) rank as firsts.
    """
    if not has_work(engine, queue):
        return []
    _give_up(engine, queue, max_attempts)
    now = _now()
    pg = engine.dialect.name == "postgresql"
    lock = " FOR UPDATE SKIP LOCKED" if pg else ""
    sql = text(
        "WITH cand AS (SELECT id, client FROM submissions WHERE queue = :queue "
        "AND (status = 'queued' OR (status = 'running' AND lease_until < :now)) "
        f"ORDER BY id LIMIT :scan{lock}), "
        "served AS (SELECT client FROM submissions WHERE queue = :queue "
        "AND status = 'running' AND lease_until >= :now AND client IS NOT NULL "
        "UNION ALL SELECT client FROM submissions WHERE queue = :queue "
        "AND finished_at >= :recent AND client IS NOT NULL), "
        "busy AS (SELECT client, count(*) AS n FROM served GROUP BY client), "
        "ranked AS (SELECT cand.id, CASE WHEN cand.client IS NULL THEN 1 ELSE "
        "row_number() OVER (PARTITION BY cand.client ORDER BY cand.id) + COALESCE(busy.n, 0) "
        "END AS r FROM cand LEFT JOIN busy ON busy.client = cand.client) "
        "UPDATE submissions SET status = 'running', attempts = attempts + 1, "
        "lease_until = :lease WHERE id IN (SELECT id FROM ranked ORDER BY r, id LIMIT :limit) "
        "RETURNING id, kind, is_text, data, origin, attempts, created_at"
    ).columns(Q.id, Q.kind, Q.is_text, Q.data, Q.origin, Q.attempts, Q.created_at)
    params = {
        "lease": now + dt.timedelta(seconds=lease_s),
        "queue": queue,
        "now": now,
        "limit": limit,
        "scan": limit * CLAIM_SCAN,
        "recent": now - dt.timedelta(seconds=FAIR_WINDOW_S),
    }
    with write_session(engine) as session:
        rows = session.execute(sql, params).all()
    jobs = []
    for r in sorted(rows, key=lambda r: r.id):
        origin = r.origin if isinstance(r.origin, dict) else _json(r.origin)
        raw = bytes(r.data or b"")
        data: str | bytes = raw.decode("utf-8", "replace") if r.is_text else raw
        jobs.append(
            Job(
                id=int(r.id),
                submission=Submission(r.kind, data, Origin.from_dict(origin)),
                attempts=int(r.attempts),
                created_at=_utc(r.created_at) or now,
            )
        )
    return jobs


def _json(value: Any) -> dict[str, Any] | None:
    import json

    if value is None:
        return None
    parsed = json.loads(value)
    return parsed if isinstance(parsed, dict) else None


def mark_done(engine: Engine, done: Sequence[tuple[int, IngestResult]]) -> None:
    """Finish submissions with their stored reports (raw input dropped: the report keeps
    what the store keeps of it)."""
    if not done:
        return
    now = _now()
    stmt = (
        update(Q)
        .where(Q.id == bindparam("sid"))
        .values(
            status="done",
            report_id=bindparam("rid"),
            is_new=bindparam("new"),
            group_is_new=bindparam("gnew"),
            finished_at=now,
            lease_until=None,
            data=None,
        )
    )
    params = [
        {"sid": sid, "rid": r.report_id, "new": r.is_new, "gnew": r.group_is_new} for sid, r in done
    ]
    with write_session(engine) as session:
        session.connection().execute(stmt, params)


def mark_rejected(engine: Engine, rejected: Sequence[tuple[int, int, str]]) -> None:
    """Finish submissions the input's fault stopped: (id, HTTP status, message)."""
    if not rejected:
        return
    stmt = (
        update(Q)
        .where(Q.id == bindparam("sid"))
        .values(
            status="rejected",
            error_status=bindparam("code"),
            error=bindparam("msg"),
            finished_at=_now(),
            lease_until=None,
            data=None,
        )
    )
    params = [{"sid": sid, "code": code, "msg": msg[:2000]} for sid, code, msg in rejected]
    with write_session(engine) as session:
        session.connection().execute(stmt, params)


def release(
    engine: Engine, ids: Sequence[int], *, error: str | None = None, count_attempt: bool = True
) -> None:
    """Put claimed submissions back in the queue (a retry, or a worker shutting down:
    ``count_attempt`` False gives the attempt back)."""
    if not ids:
        return
    values: dict[str, Any] = {"status": "queued", "lease_until": None}
    if error is not None:
        values["error"] = error[:2000]
    if not count_attempt:
        values["attempts"] = Q.attempts - 1
    stmt = update(Q).where(Q.id.in_(list(ids)), Q.status == "running").values(**values)
    with write_session(engine) as session:
        session.execute(stmt)


def mark_failed(engine: Engine, ids: Sequence[int], error: str) -> None:
    """Give up on submissions (bounded retries used up), keeping the error for the admin."""
    if not ids:
        return
    stmt = (
        update(Q)
        .where(Q.id.in_(list(ids)))
        .values(
            status="failed",
            error=error[:2000],
            finished_at=_now(),
            lease_until=None,
            data=None,
        )
    )
    with write_session(engine) as session:
        session.execute(stmt)


# ------------------------------------------------------------------------- monitoring


@dataclass(frozen=True, slots=True)
class QueueStats:
    queue: str
    waiting: int  # queued or running
    oldest_age_s: float  # age of the oldest waiting submission (0 when none)
    failed: int


def stats(engine: Engine) -> list[QueueStats]:
    """Depth, age of the oldest waiting submission and failed count per queue."""
    sql = select(
        Q.queue,
        func.count().filter(Q.status.in_(("queued", "running"))).label("waiting"),
        func.min(Q.created_at).filter(Q.status.in_(("queued", "running"))).label("oldest"),
        func.count().filter(Q.status == "failed").label("failed"),
    ).group_by(Q.queue)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sql).all()
    except DBAPIError:
        raise
    now = _now()
    out = {}
    for r in rows:
        oldest = _utc(r.oldest)
        age = (now - oldest).total_seconds() if oldest is not None else 0.0
        out[r.queue] = QueueStats(r.queue, int(r.waiting), max(0.0, age), int(r.failed))
    return [out.get(q, QueueStats(q, 0, 0.0, 0)) for q in ("text", "photo")]


def failed(engine: Engine, limit: int = 100) -> list[State]:
    """The newest failed submissions with their errors (for the admin)."""
    with engine.connect() as conn:
        ids = (
            conn.execute(
                select(Q.id).where(Q.status == "failed").order_by(Q.id.desc()).limit(limit)
            )
            .scalars()
            .all()
        )
    return [s for s in states(engine, [int(i) for i in ids]) if s is not None]
