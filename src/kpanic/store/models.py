"""SQLAlchemy 2 tables of the crash report store.

Design for many writers and a million reports:

- ``reports.content_hash`` is unique: importing the same crash text twice yields one row, and
  concurrent writers race safely (``INSERT ... ON CONFLICT DO NOTHING``).
- ``crash_groups.signature`` is unique: group creation is an upsert, never check-then-insert.
- Aggregates the dashboard lists are maintained on ingest (group counts and first/last seen,
  ``group_facets`` for kernel releases / arches / distros, ``daily_counts`` for statistics), so
  listing never counts over the reports table.
- ``group_overrides`` holds admin decisions (merge: signature -> group; split: report -> group)
  that reprocessing applies before its own grouping, so they stick across upgrades.

Changing a table means adding an Alembic revision in ``kpanic/store/migrations/versions``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# JSONB on PostgreSQL (compact, indexable), JSON text elsewhere.
JSONType = JSON().with_variant(postgresql.JSONB(), "postgresql")
# 64-bit ids on PostgreSQL; SQLite needs plain INTEGER for its rowid alias (autoincrement).
IdType = BigInteger().with_variant(Integer(), "sqlite")

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSONType, list[Any]: JSONType}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class CrashGroup(Base):
    """Reports with the same signature (or merged by an admin)."""

    __tablename__ = "crash_groups"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    signature: Mapped[str] = mapped_column(String(512), unique=True)
    signature_version: Mapped[str | None] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(512), default="")
    # lower(title + "\n" + signature): text search is a plain LIKE (no per-row case folding).
    search_key: Mapped[str] = mapped_column(Text, default="")
    # Words of the first report's frames, guilty file, modules, text (kpanic.store.search),
    # indexed by migration 0008 (FTS5 on SQLite, GIN tsvector on PostgreSQL).
    search_text: Mapped[str | None] = mapped_column(Text)
    type: Mapped[str | None] = mapped_column(String(128))
    bug_class: Mapped[str | None] = mapped_column(String(64), index=True)
    rust_prevents: Mapped[str | None] = mapped_column(String(16), index=True)
    language: Mapped[str | None] = mapped_column(String(16), index=True)
    report_count: Mapped[int] = mapped_column(BigInteger, default=0)
    full_count: Mapped[int] = mapped_column(BigInteger, default=0)  # reports still with text
    first_seen: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    last_seen: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    last_report_id: Mapped[int | None] = mapped_column(IdType)
    # Distinct machines among the group's reports (those whose client sent a machine id).
    machine_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_by: Mapped[str] = mapped_column(String(16), default="ingest")  # ingest|split|merge
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (
        Index("ix_crash_groups_report_count", "report_count"),
        Index("ix_crash_groups_machine_count", "machine_count"),
        Index("ix_crash_groups_first_seen", "first_seen"),
        Index("ix_crash_groups_title", "title"),
    )


_COVERED = ("bug_class", "rust_prevents", "language", "kernel", "arch", "distro")


def _stats_rest(first: str) -> list[str]:
    """The other statistics columns, after ``first`` and the time, in a covering index."""
    dims = ("bug_class", "rust_prevents", "language", "kernel", "arch", "distro")
    return [d for d in dims if d != first]


class Report(Base):
    """One stored crash report: original input, results, indexed scalars, provenance."""

    __tablename__ = "reports"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    group_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("crash_groups.id", ondelete="SET NULL")
    )
    source_kind: Mapped[str] = mapped_column(String(8))  # log | url | photo
    # The input as received: log text, or panic URL (NULL once pruned or withheld by scrubbing).
    original: Mapped[str | None] = mapped_column(Text)
    kmsg: Mapped[str | None] = mapped_column(Text)  # decoded kernel log (url/photo sources)
    photo_sha256: Mapped[str | None] = mapped_column(String(64))
    photo_size: Mapped[int | None] = mapped_column(BigInteger)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSONType)  # decoded PanicPayload
    scrubbed: Mapped[bool] = mapped_column(Boolean, default=False)
    scrub_counts: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    pruned: Mapped[bool] = mapped_column(Boolean, default=False)  # full text dropped
    parse: Mapped[dict[str, Any]] = mapped_column(JSONType)  # ParseResult as a dict
    classification: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    title: Mapped[str] = mapped_column(String(512), default="")
    type: Mapped[str | None] = mapped_column(String(128))
    bug_class: Mapped[str | None] = mapped_column(String(64))
    rust_prevents: Mapped[str | None] = mapped_column(String(16))
    language: Mapped[str | None] = mapped_column(String(16))
    kernel: Mapped[str | None] = mapped_column(String(128))
    arch: Mapped[str | None] = mapped_column(String(32))
    distro: Mapped[str | None] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(512))
    signature_version: Mapped[str | None] = mapped_column(String(32))
    parser_version: Mapped[str | None] = mapped_column(String(32))
    classifier_version: Mapped[str | None] = mapped_column(String(32))
    corrupted: Mapped[bool] = mapped_column(Boolean, default=False)
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    client: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    # The sending machine, pseudonymous: HMAC(installation secret, the client's app-specific
    # machine id), 32 hex digits; only counted (distinct machines per group), never shown.
    machine: Mapped[str | None] = mapped_column(String(32))
    # Words of the title, frames, guilty file, modules and text (kpanic.store.search), indexed
    # by migration 0008 (FTS5 on SQLite, GIN tsvector on PostgreSQL).
    search_text: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_reports_group_received", "group_id", "received_at"),
        Index("ix_reports_group_pruned_received", "group_id", "pruned", "received_at"),
        Index("ix_reports_received_at", "received_at"),
        # Covering: statistics filtered by any of these (and a time range) read the index alone.
        *(Index(f"ix_reports_{d}_stats", d, "received_at", *_stats_rest(d)) for d in _COVERED),
        Index("ix_reports_signature", "signature"),
        Index("ix_reports_group_machine", "group_id", "machine"),
    )


class GroupFacet(Base):
    """Per group: how many reports came from each kernel release / arch / distro."""

    __tablename__ = "group_facets"

    group_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("crash_groups.id", ondelete="CASCADE"), primary_key=True
    )
    facet: Mapped[str] = mapped_column(String(16), primary_key=True)  # kernel | arch | distro
    value: Mapped[str] = mapped_column(String(128), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, default=0)

    __table_args__ = (Index("ix_group_facets_facet_value", "facet", "value", "group_id"),)


class DailyCount(Base):
    """Report counts per UTC day and dimension value, kept on ingest for fast statistics.

    ``dim`` is one of ``total`` (value ""), ``bug_class``, ``rust_prevents``, ``language``,
    ``kernel``, ``arch``, ``distro``; NULL values are stored as "". The same dimensions are
    also kept *scoped* to each bug class, Rust verdict and language (``dim`` like
    ``bug_class=leak|kernel``), so statistics filtered by one of those read counters too.
    Kernel releases are counted per month (``day`` is the 1st), the rest per UTC day.
    """

    __tablename__ = "daily_counts"

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    dim: Mapped[str] = mapped_column(String(96), primary_key=True)
    value: Mapped[str] = mapped_column(String(128), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, default=0)

    # Covering index: statistics read (dim, value, day, count) without touching the table.
    __table_args__ = (Index("ix_daily_counts_dim_value_day", "dim", "value", "day", "count"),)


class GroupOverride(Base):
    """An admin decision that reprocessing must keep.

    Exactly one of ``signature`` (merge: every report with this signature goes to the group) or
    ``report_id`` (split: this report goes to the group) is set.
    """

    __tablename__ = "group_overrides"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    signature: Mapped[str | None] = mapped_column(String(512), unique=True)
    report_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("reports.id", ondelete="CASCADE"), unique=True
    )
    group_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("crash_groups.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(8))  # merge | split
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ApiToken(Base):
    """An API token; only its sha256 is stored (tokens are 256-bit random, so no slow KDF)."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))  # first characters, to tell tokens apart
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


__all__ = [
    "ApiToken",
    "Base",
    "CrashGroup",
    "DailyCount",
    "GroupFacet",
    "GroupOverride",
    "Report",
    "ReportSource",
]


class RateLimitCounter(Base):
    """Intake flood-control counters of the web layer (:mod:`kpanic.web.ratelimit`): one row
    per hashed client and fixed window. Ephemeral bookkeeping, but part of the migrated schema
    so every table of the database has one owner and one history."""

    __tablename__ = "web_rate_limits"

    client: Mapped[str] = mapped_column(String(40), primary_key=True)
    window_start: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    count: Mapped[int] = mapped_column(Integer)


class QueuedSubmission(Base):
    """A submission as received: the intake's acknowledgement and the workers' job in one row.

    Intake inserts the raw input (``data``) with ``status`` ``queued`` in one small
    transaction and answers 202; a worker claims rows of its ``queue`` in batches (``running``,
    ``attempts`` + 1, ``lease_until``), analyses and stores them, and marks them ``done`` (with
    the report) or ``rejected`` (the input's fault: ``error_status`` and ``error`` are what the
    client is told). A worker that dies leaves its rows ``running`` until the lease ends; they
    are claimed again, and after ``MAX_ATTEMPTS`` marked ``failed`` (poison job, shown to the
    admin). The raw input is dropped once the row is finished; ``raw_hash`` stays so a repeat of
    the same input is answered from the finished row without queueing it again.
    """

    __tablename__ = "submissions"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    queue: Mapped[str] = mapped_column(String(16))  # text | photo
    kind: Mapped[str] = mapped_column(String(8))  # log | url | photo
    # The input's bytes (text as UTF-8: PostgreSQL text cannot hold the NULs serial consoles
    # emit); ``is_text``: it was given as text (a JSON field, a form field) and is decoded back.
    data: Mapped[bytes | None] = mapped_column(LargeBinary)
    is_text: Mapped[bool] = mapped_column(Boolean, default=True)
    raw_hash: Mapped[str] = mapped_column(String(64))
    origin: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    # The rate limiter's keyed hash of the sender (origin.client): workers claim fairly across
    # senders, so one client's flood does not delay everybody else's submissions.
    client: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    report_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("reports.id", ondelete="SET NULL")
    )
    is_new: Mapped[bool | None] = mapped_column(Boolean)
    group_is_new: Mapped[bool | None] = mapped_column(Boolean)
    error_status: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index("ix_submissions_queue_status_id", "queue", "status", "id"),
        Index("ix_submissions_raw_hash", "raw_hash"),
        Index("ix_submissions_queue_finished_at", "queue", "finished_at"),
        Index("ix_submissions_report_id", "report_id"),
    )


class ReportSource(Base):
    """One piece of a crash that was joined into a report (:mod:`kpanic.store.join`).

    A report that was never joined has no rows: its one source is the report row itself.
    When a second piece of the same crash arrives (a QR tail, then the full log from pstore),
    the report's own piece is recorded here first (``role`` ``first``), then the new one:
    ``piece`` (the new text was contained in the report's: nothing else changed) or
    ``fuller`` (the new text contains the report's: the report now keeps it and its
    analysis). ``content_hash`` is unique: the same piece sent again is found here, like a
    report by ``reports.content_hash``.
    """

    __tablename__ = "report_sources"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    report_id: Mapped[int] = mapped_column(IdType, ForeignKey("reports.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(8))  # first | piece | fuller
    source_kind: Mapped[str] = mapped_column(String(8))  # log | url | photo
    origin: Mapped[str | None] = mapped_column(String(16))  # pstore, when the text shows it
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    size: Mapped[int] = mapped_column(BigInteger)  # characters of the piece's kernel log text
    lines: Mapped[int] = mapped_column(Integer)  # its non-blank lines
    submission_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("submissions.id", ondelete="SET NULL")
    )

    __table_args__ = (
        Index("ix_report_sources_report_id_received_at", "report_id", "received_at"),
        Index("ix_report_sources_submission_id", "submission_id"),
    )


# The triage tables share this metadata (migrations and the schema check see them); they live
# in their own module, imported here so that importing the models always registers them.
from kpanic.store import triage_models as _triage_models  # noqa: E402,F401
