"""The crash report store: the one API the web service and the CLI use.

A :class:`Repository` holds only an engine and the settings: no in-process state another
process needs, so several ``kpanic serve`` processes can share one PostgreSQL. Every write is
one transaction and returns after it committed. Concurrency safety comes from the database:
unique ``content_hash`` (dedup) and ``signature`` (group creation) with ``ON CONFLICT``, and
counter updates done in SQL (``count = count + 1``), never read-modify-write in Python.

Typical use::

    from kpanic.store.repository import Repository, Filters, upgrade

    upgrade(url)                      # on start (idempotent)
    repo = Repository(url)
    res = repo.ingest_log(text)       # -> IngestResult(report_id, group_id, is_new, ...)
    page = repo.list_groups(Filters(bug_class="use-after-free"), sort="count", page=1)
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    delete,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from kpanic.errors import KpanicError
from kpanic.settings import Settings, get_settings, resolve_database_url
from kpanic.store import ingest as ingest_mod
from kpanic.store.db import current_revision, make_engine, read_session, upgrade, write_session
from kpanic.store.models import (
    ApiToken,
    CrashGroup,
    DailyCount,
    GroupFacet,
    GroupOverride,
    Report,
)
from kpanic.store.tokens import display_prefix, generate_token, hash_token, looks_like_token
from kpanic.store.views import (
    Bucket,
    ClientInfo,
    FacetCount,
    Filters,
    GroupDetail,
    GroupSort,
    GroupSummary,
    IngestResult,
    Move,
    NewToken,
    Page,
    ReportDetail,
    ReportSort,
    ReportSummary,
    ReprocessSummary,
    Stats,
    TokenInfo,
)

__all__ = [
    "Bucket",
    "ClientInfo",
    "FacetCount",
    "Filters",
    "GroupDetail",
    "GroupSort",
    "GroupSummary",
    "IngestResult",
    "Move",
    "NewToken",
    "NotFound",
    "Page",
    "ReportDetail",
    "ReportSort",
    "ReportSummary",
    "ReprocessSummary",
    "Repository",
    "Stats",
    "TokenInfo",
    "current_revision",
    "upgrade",
]

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


def _counter_day(day: dt.date, dim: str) -> dt.date:
    """The ``daily_counts.day`` key: the day, or the month's first day for monthly dims."""
    return day.replace(day=1) if dim in MONTHLY_DIMS else day


def _dims(values: Any) -> list[tuple[str, str]]:
    """(dim, value) pairs a report contributes to ``daily_counts``, in a fixed order."""
    pairs = [("total", "")]
    pairs += [(d, (getattr(values, d) or "")[:128]) for d in STAT_DIMS]
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


class Repository:
    """Access to one crash report database (SQLite file or PostgreSQL).

    Thread-safe: each call opens its own session from the engine's pool. Create one per
    process and share it. The schema must be current (call :func:`upgrade` first).
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        settings: Settings | None = None,
    ) -> None:
        """Open the database at ``url`` (``--db``; default from settings/env)."""
        self.settings = settings or get_settings(url)
        if url is not None and settings is not None:
            self.settings = settings.with_(database_url=resolve_database_url(url))
        self.url = self.settings.database_url
        self.engine = make_engine(self.url)

    def close(self) -> None:
        """Release the connection pool."""
        self.engine.dispose()

    def __enter__(self) -> Repository:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    # ------------------------------------------------------------------ ingest

    def ingest_log(
        self,
        text: str | bytes,
        *,
        client: ClientInfo | None = None,
        scrub: bool | None = None,
        received_at: dt.datetime | None = None,
    ) -> IngestResult:
        """Store a raw kernel log. ``scrub`` None: the configured default (on).

        Raises KpanicError subclasses for bad input (InputTooLarge, NoCrashFound, ...).
        A duplicate (same log text) returns the existing report with ``is_new=False``.
        """
        prepared = ingest_mod.prepare_log(text, scrub=scrub, settings=self.settings)
        return self.store(prepared, client=client, received_at=received_at)

    def ingest_url(
        self,
        url: str,
        *,
        client: ClientInfo | None = None,
        scrub: bool | None = None,
        received_at: dt.datetime | None = None,
    ) -> IngestResult:
        """Store the crash a drm_panic URL carries (PayloadError for a bad URL)."""
        prepared = ingest_mod.prepare_url(url, scrub=scrub, settings=self.settings)
        return self.store(prepared, client=client, received_at=received_at)

    def ingest_photo(
        self,
        data: bytes,
        *,
        client: ClientInfo | None = None,
        scrub: bool | None = None,
        received_at: dt.datetime | None = None,
    ) -> IngestResult:
        """Store the crash in a photo of a panic QR code (PhotoDecodeError when unreadable).

        The photo itself is not kept: its sha256 and size, the QR payload and the kmsg are.
        """
        prepared = ingest_mod.prepare_photo(data, scrub=scrub, settings=self.settings)
        return self.store(prepared, client=client, received_at=received_at)

    def ingest_file(
        self,
        path: Path,
        *,
        client: ClientInfo | None = None,
        scrub: bool | None = None,
        received_at: dt.datetime | None = None,
    ) -> IngestResult:
        """Store a file: images are photos, ``*.url`` files URLs, anything else a log."""
        prepared = ingest_mod.prepare_file(Path(path), scrub=scrub, settings=self.settings)
        return self.store(prepared, client=client, received_at=received_at)

    def find_by_content(self, content_hash: str) -> int | None:
        """The id of the report with this content hash, if stored."""
        with read_session(self.engine) as s:
            return s.scalar(select(Report.id).where(Report.content_hash == content_hash))

    def store(
        self,
        prepared: ingest_mod.PreparedReport,
        *,
        client: ClientInfo | None = None,
        received_at: dt.datetime | None = None,
    ) -> IngestResult:
        """Write a prepared report, its group and the aggregates in one transaction.

        Returns after the commit. Safe under concurrent writers in many processes.
        """
        when = _utc(received_at) or _now()
        existing = self._existing(prepared.content_hash)
        if existing is not None:
            return existing
        try:
            for attempt in range(WRITE_ATTEMPTS):
                try:
                    with write_session(self.engine) as s:
                        return self._store_in(s, prepared, client, when)
                except DBAPIError as exc:
                    if attempt + 1 == WRITE_ATTEMPTS or not _retryable(exc):
                        raise
            raise AssertionError("unreachable")  # pragma: no cover
        except _Duplicate:
            existing = self._existing(prepared.content_hash)
            if existing is None:  # pragma: no cover - the winner's row vanished (deleted)
                raise KpanicError("the report was deleted while it was being stored") from None
            return existing

    def _existing(self, key: str) -> IngestResult | None:
        with read_session(self.engine) as s:
            row = s.execute(
                select(
                    Report.id,
                    Report.group_id,
                    Report.title,
                    Report.bug_class,
                    Report.rust_prevents,
                    Report.signature,
                ).where(Report.content_hash == key)
            ).first()
        if row is None:
            return None
        return IngestResult(
            report_id=row.id,
            group_id=row.group_id,
            is_new=False,
            group_is_new=False,
            title=row.title,
            bug_class=row.bug_class,
            rust_prevents=row.rust_prevents,
            signature=row.signature,
        )

    def _store_in(
        self,
        s: Session,
        p: ingest_mod.PreparedReport,
        client: ClientInfo | None,
        when: dt.datetime,
    ) -> IngestResult:
        signature = _fit_signature(p.signature)
        group_id, group_is_new = self._resolve_group(s, signature, p, when)
        values = {
            "content_hash": p.content_hash,
            "group_id": group_id,
            "source_kind": p.source_kind,
            "original": p.original,
            "kmsg": p.kmsg,
            "photo_sha256": p.photo_sha256,
            "photo_size": p.photo_size,
            "payload": p.payload,
            "scrubbed": p.scrubbed,
            "scrub_counts": p.scrub_counts,
            "pruned": False,
            "parse": p.parse,
            "classification": p.classification,
            "title": p.title,
            "type": p.type,
            "bug_class": p.bug_class,
            "rust_prevents": p.rust_prevents,
            "language": p.language,
            "kernel": p.kernel,
            "arch": p.arch,
            "distro": p.distro,
            "signature": signature,
            "signature_version": p.signature_version,
            "parser_version": p.parser_version,
            "classifier_version": p.classifier_version,
            "corrupted": p.corrupted,
            "received_at": when,
            "client": client.to_dict() if client else None,
        }
        stmt = (
            _insert(s, Report)
            .values(**{k: _no_nul(v) for k, v in values.items()})
            .on_conflict_do_nothing(index_elements=["content_hash"])
            .returning(Report.id)
        )
        report_id = s.scalar(stmt)
        if report_id is None:
            raise _Duplicate
        self._add_to_group(s, group_id, report_id, p, when)
        self._bump_facets(s, group_id, _facets(p), +1)
        self._bump_daily(s, _day(when), _dims(p), +1)
        self._prune_group(s, group_id)
        return IngestResult(
            report_id=report_id,
            group_id=group_id,
            is_new=True,
            group_is_new=group_is_new,
            title=p.title,
            bug_class=p.bug_class,
            rust_prevents=p.rust_prevents,
            signature=signature,
        )

    def _resolve_group(
        self, s: Session, signature: str, p: Any, when: dt.datetime
    ) -> tuple[int, bool]:
        """Group id for a signature: an admin override, else the group keyed by it (upsert)."""
        override = s.scalar(
            select(GroupOverride.group_id).where(GroupOverride.signature == signature)
        )
        if override is not None:
            return override, False
        stmt = (
            _insert(s, CrashGroup)
            .values(
                signature=signature,
                signature_version=p.signature_version,
                title=p.title,
                type=p.type,
                bug_class=p.bug_class,
                rust_prevents=p.rust_prevents,
                language=p.language,
                report_count=0,
                full_count=0,
                first_seen=when,
                last_seen=when,
                created_by="ingest",
                created_at=_now(),
            )
            .on_conflict_do_nothing(index_elements=["signature"])
            .returning(CrashGroup.id)
        )
        new_id = s.scalar(stmt)
        if new_id is not None:
            return new_id, True
        gid = s.scalar(select(CrashGroup.id).where(CrashGroup.signature == signature))
        if gid is None:  # pragma: no cover - only if deleted between the two statements
            raise KpanicError("the crash group vanished while storing; please retry")
        return gid, False

    def _add_to_group(
        self, s: Session, group_id: int, report_id: int, p: Any, when: dt.datetime
    ) -> None:
        """Counts, first/last seen and (for the newest report) title and class, in SQL."""
        newer = CrashGroup.last_seen <= when
        s.execute(
            update(CrashGroup)
            .where(CrashGroup.id == group_id)
            .values(
                report_count=CrashGroup.report_count + 1,
                full_count=CrashGroup.full_count + 1,
                first_seen=case((CrashGroup.first_seen > when, when), else_=CrashGroup.first_seen),
                last_seen=case((newer, when), else_=CrashGroup.last_seen),
                last_report_id=case((newer, report_id), else_=CrashGroup.last_report_id),
                title=case((newer, p.title), else_=CrashGroup.title),
                type=case((newer, p.type), else_=CrashGroup.type),
                bug_class=case((newer, p.bug_class), else_=CrashGroup.bug_class),
                rust_prevents=case((newer, p.rust_prevents), else_=CrashGroup.rust_prevents),
                language=case((newer, p.language), else_=CrashGroup.language),
                signature_version=case(
                    (newer, p.signature_version), else_=CrashGroup.signature_version
                ),
            )
        )

    def _bump_facets(
        self, s: Session, group_id: int, facets: list[tuple[str, str]], delta: int
    ) -> None:
        for facet, value in sorted(facets):
            if delta > 0:
                stmt = _insert(s, GroupFacet).values(
                    group_id=group_id, facet=facet, value=value, count=delta
                )
                s.execute(
                    stmt.on_conflict_do_update(
                        index_elements=["group_id", "facet", "value"],
                        set_={"count": GroupFacet.count + delta},
                    )
                )
            else:
                key = and_(
                    GroupFacet.group_id == group_id,
                    GroupFacet.facet == facet,
                    GroupFacet.value == value,
                )
                s.execute(update(GroupFacet).where(key).values(count=GroupFacet.count + delta))
                s.execute(delete(GroupFacet).where(key, GroupFacet.count <= 0))

    def _bump_daily(
        self, s: Session, day: dt.date, dims: list[tuple[str, str]], delta: int
    ) -> None:
        for dim, value in sorted(dims):
            key_day = _counter_day(day, dim)
            if delta > 0:
                stmt = _insert(s, DailyCount).values(day=key_day, dim=dim, value=value, count=delta)
                s.execute(
                    stmt.on_conflict_do_update(
                        index_elements=["day", "dim", "value"],
                        set_={"count": DailyCount.count + delta},
                    )
                )
            else:
                key = and_(
                    DailyCount.day == key_day, DailyCount.dim == dim, DailyCount.value == value
                )
                s.execute(update(DailyCount).where(key).values(count=DailyCount.count + delta))
                s.execute(delete(DailyCount).where(key, DailyCount.count <= 0))

    def _prune_group(self, s: Session, group_id: int) -> int:
        """Flood control: keep the first N full reports and the latest; drop older texts.

        Rows and counts stay; ``original``/``kmsg`` and the report texts inside ``parse`` go.
        """
        limit = self.settings.sample_limit
        row = s.execute(
            select(CrashGroup.full_count, CrashGroup.last_report_id).where(
                CrashGroup.id == group_id
            )
        ).first()
        if row is None or row.full_count <= limit + 1:
            return 0
        victims = s.execute(
            select(Report.id, Report.parse)
            .where(Report.group_id == group_id, Report.pruned.is_(False))
            .where(Report.id != (row.last_report_id or -1))
            .order_by(Report.received_at, Report.id)
            .offset(limit)
        ).all()
        for victim in victims:
            s.execute(
                update(Report)
                .where(Report.id == victim.id)
                .values(original=None, kmsg=None, pruned=True, parse=_strip_texts(victim.parse))
            )
        if victims:
            s.execute(
                update(CrashGroup)
                .where(CrashGroup.id == group_id)
                .values(full_count=CrashGroup.full_count - len(victims))
            )
        return len(victims)

    # ------------------------------------------------------------------ queries

    def _group_conditions(self, f: Filters) -> list[ColumnElement[bool]]:
        conds: list[ColumnElement[bool]] = []
        if f.bug_class:
            conds.append(CrashGroup.bug_class == f.bug_class)
        if f.rust_prevents:
            conds.append(CrashGroup.rust_prevents == f.rust_prevents)
        if f.language:
            conds.append(CrashGroup.language == f.language)
        for facet in FACETS:
            value = getattr(f, facet)
            if value:
                conds.append(
                    CrashGroup.id.in_(
                        select(GroupFacet.group_id).where(
                            GroupFacet.facet == facet, GroupFacet.value == value
                        )
                    )
                )
        if f.since:
            conds.append(CrashGroup.last_seen >= _utc(f.since))
        if f.until:
            conds.append(CrashGroup.first_seen < _utc(f.until))
        if f.q and f.q.strip():
            pattern = _like(f.q.strip())
            conds.append(
                or_(
                    CrashGroup.title.ilike(pattern, escape="\\"),
                    CrashGroup.signature.ilike(pattern, escape="\\"),
                )
            )
        return conds

    def list_groups(
        self,
        filters: Filters | None = None,
        *,
        sort: GroupSort = "last_seen",
        descending: bool = True,
        page: int = 1,
        per_page: int = 50,
    ) -> Page[GroupSummary]:
        """One page of groups matching ``filters``, with the total (from the groups table).

        ``sort``: last_seen | first_seen | count | title. Each summary lists the group's most
        frequent kernel releases and arches.
        """
        f = filters or Filters()
        page, per_page = _clamp_page(page, per_page)
        sort_col = {
            "last_seen": CrashGroup.last_seen,
            "first_seen": CrashGroup.first_seen,
            "count": CrashGroup.report_count,
            "title": CrashGroup.title,
        }.get(sort)
        if sort_col is None:
            raise KpanicError(f"unknown sort {sort!r}: use last_seen, first_seen, count or title")
        conds = self._group_conditions(f)
        order = (
            (sort_col.desc(), CrashGroup.id.desc())
            if descending
            else (sort_col.asc(), CrashGroup.id.asc())
        )
        with read_session(self.engine) as s:
            total = s.scalar(select(func.count()).select_from(CrashGroup).where(*conds)) or 0
            groups = list(
                s.execute(
                    select(*CrashGroup.__table__.columns)
                    .where(*conds)
                    .order_by(*order)
                    .limit(per_page)
                    .offset((page - 1) * per_page)
                )
            )
            top = self._top_facets(s, [g.id for g in groups])
        items = [
            _group_summary(g, top.get((g.id, "kernel"), []), top.get((g.id, "arch"), []))
            for g in groups
        ]
        return Page(items=items, total=int(total), page=page, per_page=per_page)

    def _top_facets(
        self, s: Session, group_ids: Sequence[int], per_facet: int = 5
    ) -> dict[tuple[int, str], list[str]]:
        """The most frequent kernels and arches of each group (at most ``per_facet`` each)."""
        if not group_ids:
            return {}
        rank = (
            func.row_number()
            .over(
                partition_by=(GroupFacet.group_id, GroupFacet.facet),
                order_by=(GroupFacet.count.desc(), GroupFacet.value),
            )
            .label("rank")
        )
        ranked = (
            select(GroupFacet.group_id, GroupFacet.facet, GroupFacet.value, rank)
            .where(GroupFacet.group_id.in_(group_ids), GroupFacet.facet.in_(("kernel", "arch")))
            .subquery()
        )
        rows = s.execute(
            select(ranked.c.group_id, ranked.c.facet, ranked.c.value)
            .where(ranked.c.rank <= per_facet)
            .order_by(ranked.c.group_id, ranked.c.facet, ranked.c.rank)
        ).all()
        out: dict[tuple[int, str], list[str]] = {}
        for gid, facet, value in rows:
            out.setdefault((gid, facet), []).append(value)
        return out

    def get_group(self, group_id: int, *, page: int = 1, per_page: int = 50) -> GroupDetail | None:
        """A group with a page of its reports (newest first), facets, signatures merged into
        it, the representative (latest) report and the classifier's signature notes."""
        with read_session(self.engine) as s:
            g = s.get(CrashGroup, group_id)
            if g is None:
                return None
            facet_rows = s.execute(
                select(GroupFacet.facet, GroupFacet.value, GroupFacet.count)
                .where(GroupFacet.group_id == group_id)
                .order_by(GroupFacet.count.desc(), GroupFacet.value)
            ).all()
            merged = list(
                s.scalars(
                    select(GroupOverride.signature)
                    .where(GroupOverride.group_id == group_id, GroupOverride.signature.is_not(None))
                    .order_by(GroupOverride.id)
                )
            )
            rep_id = g.last_report_id
            rep = s.get(Report, rep_id) if rep_id is not None else None
            if rep is None or rep.group_id != group_id:
                rep = s.scalars(
                    select(Report)
                    .where(Report.group_id == group_id)
                    .order_by(Report.received_at.desc(), Report.id.desc())
                    .limit(1)
                ).first()
            representative = _report_detail(rep) if rep is not None else None
            summary = _group_summary(
                g,
                [v for f, v, _ in facet_rows if f == "kernel"][:5],
                [v for f, v, _ in facet_rows if f == "arch"][:5],
            )
            created_by = g.created_by
            report_total = int(g.report_count)
        reports = self.list_reports(
            group_id=group_id, page=page, per_page=per_page, _known_total=report_total
        )
        notes: list[str] = []
        if representative and representative.classification:
            raw = representative.classification.get("signature_notes") or []
            notes = [str(n) for n in raw] if isinstance(raw, list) else [str(raw)]

        def facet(name: str) -> list[FacetCount]:
            return [FacetCount(v, int(c)) for f, v, c in facet_rows if f == name]

        return GroupDetail(
            group=summary,
            reports=reports,
            representative=representative,
            signature_notes=notes,
            signatures=[summary.signature, *[m for m in merged if m]],
            kernels=facet("kernel"),
            arches=facet("arch"),
            distros=facet("distro"),
            created_by=created_by,
        )

    def _report_conditions(self, f: Filters) -> list[ColumnElement[bool]]:
        conds: list[ColumnElement[bool]] = []
        for name in ("bug_class", "rust_prevents", "language", "kernel", "arch", "distro"):
            value = getattr(f, name)
            if value:
                conds.append(getattr(Report, name) == value)
        if f.since:
            conds.append(Report.received_at >= _utc(f.since))
        if f.until:
            conds.append(Report.received_at < _utc(f.until))
        if f.q and f.q.strip():
            pattern = _like(f.q.strip())
            conds.append(
                Report.group_id.in_(
                    select(CrashGroup.id).where(
                        or_(
                            CrashGroup.title.ilike(pattern, escape="\\"),
                            CrashGroup.signature.ilike(pattern, escape="\\"),
                        )
                    )
                )
            )
        return conds

    def list_reports(
        self,
        filters: Filters | None = None,
        *,
        group_id: int | None = None,
        sort: ReportSort = "received_at",
        descending: bool = True,
        page: int = 1,
        per_page: int = 50,
        _known_total: int | None = None,
    ) -> Page[ReportSummary]:
        """One page of reports (no texts). ``q`` matches the report's group title/signature.

        Totals come from the groups table when only ``group_id`` (or nothing) filters; with
        other filters the count stops at 10,000 (``total_exact`` False beyond).
        """
        f = filters or Filters()
        page, per_page = _clamp_page(page, per_page)
        sort_col = {"received_at": Report.received_at, "title": Report.title}.get(sort)
        if sort_col is None:
            raise KpanicError(f"unknown sort {sort!r}: use received_at or title")
        conds = self._report_conditions(f)
        if group_id is not None:
            conds.append(Report.group_id == group_id)
        order = (
            (sort_col.desc(), Report.id.desc()) if descending else (sort_col.asc(), Report.id.asc())
        )
        with read_session(self.engine) as s:
            rows = s.execute(
                select(*_SUMMARY_COLUMNS)
                .where(*conds)
                .order_by(*order)
                .limit(per_page)
                .offset((page - 1) * per_page)
            ).all()
            exact = True
            if f.is_empty():
                if group_id is not None:
                    total = _known_total
                    if total is None:
                        total = s.scalar(
                            select(CrashGroup.report_count).where(CrashGroup.id == group_id)
                        )
                    total = int(total or 0)
                else:
                    total = self._total_reports(s)
            else:
                capped = select(literal(1)).where(*conds).limit(COUNT_CAP + 1).subquery()
                total = int(s.scalar(select(func.count()).select_from(capped)) or 0)
                if total > COUNT_CAP:
                    total, exact = COUNT_CAP, False
        total = max(total, (page - 1) * per_page + len(rows))
        return Page(
            items=[_report_summary(r) for r in rows],
            total=total,
            page=page,
            per_page=per_page,
            total_exact=exact,
        )

    def _total_reports(self, s: Session) -> int:
        grouped = s.scalar(select(func.coalesce(func.sum(CrashGroup.report_count), 0))) or 0
        loose = s.scalar(select(func.count()).select_from(Report).where(Report.group_id.is_(None)))
        return int(grouped) + int(loose or 0)

    def get_report(self, report_id: int) -> ReportDetail | None:
        """A whole report (texts, payload, parse and classification results, provenance)."""
        with read_session(self.engine) as s:
            r = s.get(Report, report_id)
            return _report_detail(r) if r is not None else None

    def facet_values(self, dim: str, *, limit: int = 200) -> list[FacetCount]:
        """Values seen for a filter (bug_class, rust_prevents, language, kernel, arch, distro),
        most frequent first, with report counts; for filter drop-downs."""
        if dim not in STAT_DIMS:
            raise KpanicError(f"unknown dimension {dim!r}: use one of {', '.join(STAT_DIMS)}")
        with read_session(self.engine) as s:
            rows = s.execute(
                select(DailyCount.value, func.sum(DailyCount.count).label("n"))
                .where(DailyCount.dim == dim, DailyCount.value != "")
                .group_by(DailyCount.value)
                .order_by(func.sum(DailyCount.count).desc(), DailyCount.value)
                .limit(limit)
            ).all()
        return [FacetCount(v, int(n)) for v, n in rows]

    def stats(self, filters: Filters | None = None, *, bucket: Bucket = "day") -> Stats:
        """Counts over time buckets (day | week | month) and shares per class, Rust verdict,
        language, kernel release, arch and distro.

        With only a time range (or nothing) it reads the ``daily_counts`` table (days are
        UTC; the range is rounded to whole days; kernel releases are counted per calendar
        month, so their shares cover the whole months the range touches). Other filters
        query the indexed report columns directly (one grouped scan of the matching rows:
        fine for selective filters, slower for broad ones at a million reports).
        """
        f = filters or Filters()
        if bucket not in ("day", "week", "month"):
            raise KpanicError(f"unknown bucket {bucket!r}: use day, week or month")
        since = _utc(f.since)
        until = _utc(f.until)
        d0 = since.date() if since else None
        d1 = until.date() if until else None
        only_time = Filters(since=f.since, until=f.until) == f
        with read_session(self.engine) as s:
            if only_time:
                per_day, shares = self._stats_from_counters(s, d0, d1)
            else:
                per_day, shares = self._stats_from_reports(s, f)
            groups = s.scalar(
                select(func.count()).select_from(CrashGroup).where(*self._group_conditions(f))
            )
        over: dict[dt.date, int] = {}
        for day, n in per_day:
            key = _bucket_start(day, bucket)
            over[key] = over.get(key, 0) + int(n)
        total = sum(over.values())

        def share(dim: str, top: int | None = None) -> list[tuple[str, int]]:
            items = sorted(shares.get(dim, {}).items(), key=lambda kv: (-kv[1], kv[0]))
            return items[:top] if top else items

        return Stats(
            total=total,
            groups=int(groups or 0),
            bucket=bucket,
            since=d0,
            until=d1,
            over_time=sorted(over.items()),
            by_class=share("bug_class"),
            by_rust_prevents=share("rust_prevents"),
            by_language=share("language"),
            by_kernel=share("kernel", 20),
            by_arch=share("arch"),
            by_distro=share("distro"),
        )

    def _stats_from_counters(
        self, s: Session, d0: dt.date | None, d1: dt.date | None
    ) -> tuple[list[tuple[dt.date, int]], dict[str, dict[str, int]]]:
        def day_range(monthly: bool) -> list[ColumnElement[bool]]:
            rng: list[ColumnElement[bool]] = []
            if d0:  # a monthly row counts when its month overlaps the range
                rng.append(DailyCount.day >= (d0.replace(day=1) if monthly else d0))
            if d1:
                rng.append(DailyCount.day < d1)
            return rng

        per_day = s.execute(
            select(DailyCount.day, DailyCount.count).where(
                DailyCount.dim == "total", *day_range(False)
            )
        ).all()
        shares: dict[str, dict[str, int]] = {}
        for monthly in (False, True):
            dims = [d for d in STAT_DIMS if (d in MONTHLY_DIMS) == monthly]
            rows = s.execute(
                select(DailyCount.dim, DailyCount.value, func.sum(DailyCount.count))
                .where(DailyCount.dim.in_(dims), *day_range(monthly))
                .group_by(DailyCount.dim, DailyCount.value)
            ).all()
            for dim, value, n in rows:
                shares.setdefault(dim, {})[value or "(unknown)"] = int(n)
        return [(_as_date(d), int(n)) for d, n in per_day], shares

    def _stats_from_reports(
        self, s: Session, f: Filters
    ) -> tuple[list[tuple[dt.date, int]], dict[str, dict[str, int]]]:
        """Statistics straight from the indexed report columns (one grouped scan)."""
        conds = self._report_conditions(f)
        if self.dialect == "postgresql":
            day_expr: Any = func.date(func.timezone("UTC", Report.received_at))
        else:
            day_expr = func.date(Report.received_at)
        cols = [getattr(Report, d) for d in STAT_DIMS]
        rows = s.execute(
            select(day_expr, *cols, func.count()).where(*conds).group_by(day_expr, *cols)
        ).all()
        per_day: dict[dt.date, int] = {}
        shares: dict[str, dict[str, int]] = {}
        for row in rows:
            n = int(row[-1])
            day = _as_date(row[0])
            per_day[day] = per_day.get(day, 0) + n
            for dim, value in zip(STAT_DIMS, row[1:-1], strict=True):
                bucket = shares.setdefault(dim, {})
                key = value or "(unknown)"
                bucket[key] = bucket.get(key, 0) + n
        return sorted(per_day.items()), shares

    # ------------------------------------------------------------------ admin

    def merge_groups(self, target_id: int, source_ids: Iterable[int]) -> GroupSummary:
        """Merge groups into ``target_id``: their reports move, and their signatures are
        recorded as overrides (signature -> target) so new reports and reprocessing follow."""
        sources = sorted({int(x) for x in source_ids} - {int(target_id)})
        if not sources:
            raise KpanicError("nothing to merge: give at least one other group")
        with write_session(self.engine) as s:
            ids = [target_id, *sources]
            found = {
                g.id: g
                for g in s.scalars(_for_update(s, select(CrashGroup).where(CrashGroup.id.in_(ids))))
            }
            missing = [i for i in ids if i not in found]
            if missing:
                raise NotFound(f"no such group: {', '.join(map(str, missing))}")
            for src in sources:
                signatures = [found[src].signature]
                signatures += list(
                    s.scalars(
                        select(GroupOverride.signature).where(
                            GroupOverride.group_id == src, GroupOverride.signature.is_not(None)
                        )
                    )
                )
                s.execute(
                    update(GroupOverride)
                    .where(GroupOverride.group_id == src)
                    .values(group_id=target_id)
                )
                for sig in signatures:
                    self._set_signature_override(s, sig, target_id)
                s.execute(update(Report).where(Report.group_id == src).values(group_id=target_id))
            # The target's own signature must never be an override pointing elsewhere.
            s.execute(
                delete(GroupOverride).where(GroupOverride.signature == found[target_id].signature)
            )
            s.execute(delete(CrashGroup).where(CrashGroup.id.in_(sources)))
            self._recompute_group(s, target_id)
            self._prune_group(s, target_id)
        return self._summary(target_id)

    def _set_signature_override(self, s: Session, signature: str, group_id: int) -> None:
        stmt = _insert(s, GroupOverride).values(
            signature=signature, group_id=group_id, kind="merge", created_at=_now()
        )
        s.execute(
            stmt.on_conflict_do_update(index_elements=["signature"], set_={"group_id": group_id})
        )

    def split_report_to_new_group(self, report_id: int) -> GroupSummary:
        """Move one report out of its group into a new group of its own.

        Recorded as an override (report -> new group) that reprocessing keeps.
        """
        with write_session(self.engine) as s:
            r = s.get(Report, report_id)
            if r is None:
                raise NotFound(f"no such report: {report_id}")
            old = r.group_id
            if old is not None:
                others = s.scalar(
                    select(func.count())
                    .select_from(Report)
                    .where(Report.group_id == old, Report.id != report_id)
                )
                if not others:
                    raise KpanicError(f"report {report_id} is already alone in its group")
            when = _utc(r.received_at) or _now()
            new_id = s.scalar(
                _insert(s, CrashGroup)
                .values(
                    signature=_fit_signature(f"{r.signature}#split-{r.id}"),
                    signature_version=r.signature_version,
                    title=r.title,
                    type=r.type,
                    bug_class=r.bug_class,
                    rust_prevents=r.rust_prevents,
                    language=r.language,
                    report_count=0,
                    full_count=0,
                    first_seen=when,
                    last_seen=when,
                    created_by="split",
                    created_at=_now(),
                )
                .returning(CrashGroup.id)
            )
            s.execute(delete(GroupOverride).where(GroupOverride.report_id == report_id))
            s.add(GroupOverride(report_id=report_id, group_id=new_id, kind="split"))
            r.group_id = new_id
            s.flush()
            self._recompute_group(s, new_id)
            if old is not None:
                self._recompute_group(s, old)
        return self._summary(new_id)

    def delete_report(self, report_id: int) -> bool:
        """Delete a report for good (counts and statistics follow). False if it did not exist.

        A group left empty is deleted with it.
        """
        with write_session(self.engine) as s:
            r = s.get(Report, report_id)
            if r is None:
                return False
            gid = r.group_id
            self._bump_daily(s, _day(_utc(r.received_at) or _now()), _dims(r), -1)
            if gid is not None:
                self._bump_facets(s, gid, _facets(r), -1)
            s.delete(r)
            s.flush()
            if gid is not None:
                self._recompute_group(s, gid, facets=False)
        return True

    def _recompute_group(self, s: Session, group_id: int, *, facets: bool = True) -> bool:
        """Rebuild a group's aggregates from its reports; delete it when empty.

        Returns False when the group was deleted.
        """
        agg = s.execute(
            select(
                func.count(),
                func.min(Report.received_at),
                func.max(Report.received_at),
                func.sum(case((Report.pruned.is_(False), 1), else_=0)),
            ).where(Report.group_id == group_id)
        ).one()
        count, first, last, full = agg
        if not count:
            s.execute(delete(CrashGroup).where(CrashGroup.id == group_id))
            return False
        latest = s.execute(
            select(
                Report.id,
                Report.title,
                Report.type,
                Report.bug_class,
                Report.rust_prevents,
                Report.language,
                Report.signature_version,
            )
            .where(Report.group_id == group_id)
            .order_by(Report.received_at.desc(), Report.id.desc())
            .limit(1)
        ).one()
        s.execute(
            update(CrashGroup)
            .where(CrashGroup.id == group_id)
            .values(
                report_count=count,
                full_count=int(full or 0),
                first_seen=first,
                last_seen=last,
                last_report_id=latest.id,
                title=latest.title,
                type=latest.type,
                bug_class=latest.bug_class,
                rust_prevents=latest.rust_prevents,
                language=latest.language,
                signature_version=latest.signature_version,
            )
        )
        if facets:
            s.execute(delete(GroupFacet).where(GroupFacet.group_id == group_id))
            for facet in FACETS:
                col = getattr(Report, facet)
                rows = s.execute(
                    select(col, func.count())
                    .where(Report.group_id == group_id, col.is_not(None), col != "")
                    .group_by(col)
                ).all()
                if rows:
                    s.execute(
                        _insert(s, GroupFacet).values(
                            [
                                {"group_id": group_id, "facet": facet, "value": v, "count": n}
                                for v, n in rows
                            ]
                        )
                    )
        return True

    def _summary(self, group_id: int) -> GroupSummary:
        with read_session(self.engine) as s:
            g = s.get(CrashGroup, group_id)
            if g is None:
                raise NotFound(f"no such group: {group_id}")
            top = self._top_facets(s, [group_id])
            return _group_summary(g, top.get((g.id, "kernel"), []), top.get((g.id, "arch"), []))

    def reprocess(
        self,
        *,
        batch_size: int = 200,
        jobs: int = 1,
        progress: Callable[[int, int], None] | None = None,
    ) -> ReprocessSummary:
        """Re-parse and re-classify every stored report with the installed kpanic, re-group
        them (admin overrides first) and rebuild the affected groups' aggregates.

        Parsing runs in ``jobs`` processes; one writer applies the results batch by batch
        (each batch one transaction, so ingest can go on meanwhile). Reports whose full text
        was pruned are re-classified from their stored parse result. ``progress(done,
        total)`` is called after each batch.
        """
        from kpanic.store.reprocess import reanalyze_input

        with read_session(self.engine) as s:
            total = int(s.scalar(select(func.count()).select_from(Report)) or 0)
        state = _ReprocessState()
        pool = ProcessPoolExecutor(max_workers=jobs) if jobs > 1 else None
        try:
            last_id = 0
            while True:
                with read_session(self.engine) as s:
                    rows = s.execute(
                        select(
                            Report.id,
                            Report.source_kind,
                            Report.original,
                            Report.kmsg,
                            Report.parse,
                        )
                        .where(Report.id > last_id)
                        .order_by(Report.id)
                        .limit(batch_size)
                    ).all()
                if not rows:
                    break
                last_id = rows[-1].id
                inputs = [tuple(r) for r in rows]
                results = (
                    list(pool.map(reanalyze_input, inputs, chunksize=8))
                    if pool
                    else [reanalyze_input(i) for i in inputs]
                )
                with write_session(self.engine) as s:
                    self._apply_reanalysis(s, results, state)
                state.done += len(rows)
                if progress:
                    progress(state.done, total)
        finally:
            if pool:
                pool.shutdown(cancel_futures=True)
        removed: list[int] = []
        for gid in sorted(state.touched):
            with write_session(self.engine) as s:
                if not self._recompute_group(s, gid):
                    removed.append(gid)
                else:
                    self._prune_group(s, gid)
        return ReprocessSummary(
            reports=state.done,
            moved=state.moved,
            retitled=state.retitled,
            groups_created=[g for g in state.created if g not in removed],
            groups_removed=removed,
            errors=state.errors,
        )

    def _apply_reanalysis(
        self,
        s: Session,
        results: list[tuple[int, ingest_mod.Analysis | None, str | None]],
        state: _ReprocessState,
    ) -> None:
        ids = [rid for rid, _, _ in results]
        reports = {r.id: r for r in s.scalars(select(Report).where(Report.id.in_(ids)))}
        split = dict(
            s.execute(
                select(GroupOverride.report_id, GroupOverride.group_id).where(
                    GroupOverride.report_id.in_(ids)
                )
            ).all()
        )
        for rid, info, error in results:
            r = reports.get(rid)
            if r is None:  # deleted meanwhile
                continue
            if info is None:
                state.errors.append((rid, error or "unknown error"))
                continue
            new_sig = _fit_signature(info.signature)
            old_gid, old_sig, old_title = r.group_id, r.signature, r.title
            old_dims = _dims(r)
            when = _utc(r.received_at) or _now()
            if rid in split:
                new_gid, is_new = split[rid], False
            else:
                new_gid, is_new = self._resolve_group(s, new_sig, info, when)
            if is_new:
                state.created.append(new_gid)
            r.parse = info.parse if not r.pruned else _strip_texts(info.parse)
            r.classification = info.classification
            r.title = info.title
            r.type = info.type
            r.bug_class = info.bug_class
            r.rust_prevents = info.rust_prevents
            r.language = info.language
            r.signature = new_sig
            r.signature_version = info.signature_version
            r.parser_version = info.parser_version
            r.classifier_version = info.classifier_version
            r.corrupted = info.corrupted
            r.kernel = r.kernel or info.kernel
            r.arch = r.arch or info.arch
            new_dims = _dims(r)
            changed = new_dims != old_dims or info.title != old_title
            if new_dims != old_dims:
                self._bump_daily(s, _day(when), old_dims, -1)
                self._bump_daily(s, _day(when), new_dims, +1)
            if new_gid != old_gid:
                r.group_id = new_gid
                state.touched.update(g for g in (old_gid, new_gid) if g is not None)
                state.moved.append(
                    Move(rid, old_gid, new_gid, old_sig, new_sig, old_title, info.title)
                )
            elif changed:
                state.retitled += 1
                state.touched.add(new_gid)
            s.flush()

    # ------------------------------------------------------------------ tokens

    def create_token(self, name: str = "") -> NewToken:
        """A new API token; the plain token is in the result only (stored as sha256)."""
        token = generate_token()
        with write_session(self.engine) as s:
            row = ApiToken(
                name=name.strip()[:128],
                token_hash=hash_token(token),
                prefix=display_prefix(token),
                created_at=_now(),
            )
            s.add(row)
            s.flush()
            info = _token_info(row)
        return NewToken(info=info, token=token)

    def verify_token(self, token: str) -> TokenInfo | None:
        """The token's info if it is valid and not revoked, else None (records last use)."""
        if not looks_like_token(token):
            return None
        digest = hash_token(token)
        with read_session(self.engine) as s:
            row = s.scalars(select(ApiToken).where(ApiToken.token_hash == digest)).first()
            if row is None or row.revoked_at is not None:
                return None
            info = _token_info(row)
        now = _now()
        if info.last_used_at is None or now - info.last_used_at > TOKEN_TOUCH_INTERVAL:
            with write_session(self.engine) as s:
                s.execute(update(ApiToken).where(ApiToken.id == info.id).values(last_used_at=now))
            info = dataclasses.replace(info, last_used_at=now)
        return info

    def list_tokens(self) -> list[TokenInfo]:
        """All tokens (revoked ones included), oldest first."""
        with read_session(self.engine) as s:
            return [_token_info(t) for t in s.scalars(select(ApiToken).order_by(ApiToken.id))]

    def revoke_token(self, token_id: int) -> bool:
        """Revoke a token by id; False if there is no such active token."""
        with write_session(self.engine) as s:
            res = s.execute(
                update(ApiToken)
                .where(ApiToken.id == token_id, ApiToken.revoked_at.is_(None))
                .values(revoked_at=_now())
            )
            return bool(res.rowcount)  # type: ignore[attr-defined]


def _retryable(exc: DBAPIError) -> bool:
    """Deadlock / serialization failure (PostgreSQL) or a lock timeout (SQLite): retry."""
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    if code in ("40P01", "40001"):
        return True
    return "database is locked" in str(exc.orig)


@dataclasses.dataclass
class _ReprocessState:
    done: int = 0
    retitled: int = 0
    moved: list[Move] = dataclasses.field(default_factory=list)
    errors: list[tuple[int, str]] = dataclasses.field(default_factory=list)
    touched: set[int] = dataclasses.field(default_factory=set)
    created: list[int] = dataclasses.field(default_factory=list)


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


def open_repository(url: str | None = None, *, migrate: bool = True) -> Repository:
    """A Repository for ``url`` (``--db`` / env / default), migrating the schema first."""
    if migrate:
        upgrade(url)
    return Repository(url)
