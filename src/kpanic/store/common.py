"""Shared pieces of the store's repository: limits, conversions to view values, the
dimensions aggregates are kept for, dialect-specific INSERT, small time helpers."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from sqlalchemy import Engine, Select, func, literal
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from kpanic.errors import KpanicError
from kpanic.settings import Settings
from kpanic.store.models import (
    ApiToken,
    CrashGroup,
    Report,
)
from kpanic.store.views import (
    GroupSummary,
    ReportDetail,
    ReportSummary,
    TokenInfo,
)

MAX_PER_PAGE = 500
COUNT_CAP = 10_000  # filtered report lists count at most this many rows (then "10000+")
FACETS = ("kernel", "arch", "distro")
STAT_DIMS = ("bug_class", "rust_prevents", "language", "kernel", "arch", "distro")
WRITE_ATTEMPTS = 3  # a deadlock victim or lock timeout is retried (the whole transaction)
TOKEN_TOUCH_INTERVAL = dt.timedelta(minutes=5)


class NotFound(KpanicError):
    """A group, report or token id that does not exist."""


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    """Aware UTC datetime (SQLite hands back naive values, stored as UTC)."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _day(value: dt.datetime) -> dt.date:
    return value.astimezone(dt.UTC).date() if value.tzinfo else value.date()


def _like(q: str) -> str:
    escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _fit_signature(signature: str) -> str:
    """Signatures longer than the column keep a digest so distinct ones stay distinct."""
    if len(signature) <= 512:
        return signature
    digest = hashlib.sha256(signature.encode()).hexdigest()[:16]
    return f"{signature[:495]}#{digest}"


def _search_key(title: str, signature: str) -> str:
    """What group text search matches: the title and the signature, lower-cased."""
    return f"{title}\n{signature}".lower()


def _search_key_sql(title: str) -> Any:
    """The same key built in SQL from a new title and the group's own signature column."""
    return literal(title.lower() + "\n") + func.lower(CrashGroup.signature)


def _insert(session: Session, model: Any) -> Any:
    """The dialect's INSERT (with ``on_conflict_do_*``)."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(model)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(model)


def _no_nul(value: Any) -> Any:
    """Strings without NUL characters (PostgreSQL text and JSONB cannot hold them)."""
    if isinstance(value, str):
        return value.replace("\x00", "") if "\x00" in value else value
    if isinstance(value, dict | list) and "\\x00" not in repr(value):
        return value  # repr shows a NUL as \x00: one C-speed scan instead of a Python walk
    if isinstance(value, dict):
        return {_no_nul(k): _no_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_no_nul(v) for v in value]
    return value


def _clamp_page(page: int, per_page: int) -> tuple[int, int]:
    return max(1, int(page)), max(1, min(int(per_page), MAX_PER_PAGE))


def _group_summary(g: Any, kernels: list[str], arches: list[str]) -> GroupSummary:
    """From a CrashGroup or a row of its columns."""
    return GroupSummary(
        id=g.id,
        signature=g.signature,
        title=g.title,
        type=g.type,
        bug_class=g.bug_class,
        rust_prevents=g.rust_prevents,
        language=g.language,
        report_count=int(g.report_count),
        first_seen=_utc(g.first_seen),  # type: ignore[arg-type]
        last_seen=_utc(g.last_seen),  # type: ignore[arg-type]
        kernels=kernels,
        arches=arches,
        machine_count=int(getattr(g, "machine_count", 0) or 0),
    )


_SUMMARY_COLUMNS = (
    Report.id,
    Report.group_id,
    Report.source_kind,
    Report.title,
    Report.type,
    Report.bug_class,
    Report.rust_prevents,
    Report.language,
    Report.kernel,
    Report.arch,
    Report.distro,
    Report.signature,
    Report.received_at,
    Report.pruned,
    Report.scrubbed,
    Report.corrupted,
)


def _report_summary(row: Any) -> ReportSummary:
    return ReportSummary(
        id=row.id,
        group_id=row.group_id,
        source_kind=row.source_kind,
        title=row.title,
        type=row.type,
        bug_class=row.bug_class,
        rust_prevents=row.rust_prevents,
        language=row.language,
        kernel=row.kernel,
        arch=row.arch,
        distro=row.distro,
        signature=row.signature,
        received_at=_utc(row.received_at),  # type: ignore[arg-type]
        pruned=bool(row.pruned),
        scrubbed=bool(row.scrubbed),
        corrupted=bool(row.corrupted),
    )


def _report_detail(r: Report) -> ReportDetail:
    return ReportDetail(
        summary=_report_summary(r),
        original=r.original,
        kmsg=r.kmsg,
        log_text=r.kmsg if r.source_kind != "log" else r.original,
        photo_sha256=r.photo_sha256,
        photo_size=r.photo_size,
        payload=r.payload,
        parse=r.parse,
        classification=r.classification,
        signature_version=r.signature_version,
        parser_version=r.parser_version,
        classifier_version=r.classifier_version,
        scrub_counts=r.scrub_counts,
        client=r.client,
        content_hash=r.content_hash,
    )


def _token_info(t: ApiToken) -> TokenInfo:
    return TokenInfo(
        id=t.id,
        name=t.name,
        prefix=t.prefix,
        created_at=_utc(t.created_at),  # type: ignore[arg-type]
        last_used_at=_utc(t.last_used_at),
        revoked=t.revoked_at is not None,
    )


MONTHLY_DIMS = frozenset({"kernel"})  # many distinct values: counted per month, not per day
SCOPE_DIMS = ("bug_class", "rust_prevents", "language")  # stats filters served by counters


def _base_dim(dim: str) -> str:
    """``bug_class=leak|kernel`` -> ``kernel``."""
    return dim.rsplit("|", 1)[-1]


def _scope(dim: str, value: str) -> str:
    """The prefix of counters scoped to one filter value, e.g. ``bug_class=leak|``."""
    return f"{dim}={value[:40]}|"


def _counter_day(day: dt.date, dim: str) -> dt.date:
    """The ``daily_counts.day`` key: the day, or the month's first day for monthly dims."""
    return day.replace(day=1) if _base_dim(dim) in MONTHLY_DIMS else day


def _dims(values: Any) -> list[tuple[str, str]]:
    """(dim, value) pairs a report contributes to ``daily_counts``: the plain dimensions and
    the same ones scoped to its bug class, Rust verdict and language."""
    base = [("total", "")]
    base += [(d, (getattr(values, d) or "")[:128]) for d in STAT_DIMS]
    pairs = list(base)
    for scope_dim in SCOPE_DIMS:
        scope_value = getattr(values, scope_dim) or ""
        if scope_value:
            prefix = _scope(scope_dim, scope_value)
            pairs += [(prefix + d, v) for d, v in base]
    return pairs


def _facets(values: Any) -> list[tuple[str, str]]:
    return [(f, getattr(values, f)[:128]) for f in FACETS if getattr(values, f)]


def _strip_texts(parse: dict[str, Any]) -> dict[str, Any]:
    """The parse result without the report texts (kept: titles, frames, fields)."""
    reports = [
        {k: v for k, v in r.items() if k != "text"} if isinstance(r, dict) else r
        for r in parse.get("reports", [])
    ]
    return {**parse, "reports": reports}


def _retryable(exc: DBAPIError) -> bool:
    """Deadlock / serialization failure (PostgreSQL), a lock timeout (SQLite) or a connection
    the server dropped (the transaction did not commit; the pool was invalidated): retry."""
    if exc.connection_invalidated:
        return True
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    if code in ("40P01", "40001"):
        return True
    return "database is locked" in str(exc.orig)


class _Duplicate(Exception):
    """Another writer stored the same content first (the transaction is rolled back)."""


def _for_update(s: Session, stmt: Select[Any]) -> Select[Any]:
    """Row locks on PostgreSQL (SQLite's write transaction already excludes other writers)."""
    return stmt.with_for_update() if s.get_bind().dialect.name == "postgresql" else stmt


def _as_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _bucket_start(day: dt.date, bucket: str) -> dt.date:
    if bucket == "week":
        return day - dt.timedelta(days=day.weekday())
    if bucket == "month":
        return day.replace(day=1)
    return day


class RepositoryBase:
    """What every part of the repository shares: the engine and the settings."""

    engine: Engine
    settings: Settings

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name
