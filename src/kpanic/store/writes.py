"""Write path of the repository: store a prepared report, its group and the aggregates
(group counts, facets, daily counts) in one transaction, and flood control."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any, cast

from sqlalchemy import (
    Boolean,
    Table,
    and_,
    bindparam,
    case,
    delete,
    func,
    literal,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from kpanic.errors import KpanicError
from kpanic.store import ingest as ingest_mod
from kpanic.store import triage
from kpanic.store.common import (
    WRITE_ATTEMPTS,
    RepositoryBase,
    _counter_day,
    _day,
    _dims,
    _Duplicate,
    _facets,
    _fit_signature,
    _insert,
    _no_nul,
    _now,
    _retryable,
    _search_key,
    _search_key_sql,
    _utc,
)
from kpanic.store.db import read_session, write_session
from kpanic.store.join import JoinMixin
from kpanic.store.models import (
    CrashGroup,
    DailyCount,
    GroupFacet,
    GroupOverride,
    Report,
    ReportSource,
)
from kpanic.store.search import search_text
from kpanic.store.views import (
    ClientInfo,
    IngestResult,
)

# What a write answers about a report that is already stored (and the columns it needs).
STORED_COLUMNS = (
    Report.id,
    Report.content_hash,
    Report.group_id,
    Report.title,
    Report.bug_class,
    Report.rust_prevents,
    Report.signature,
)


def stored_result(
    row: Any, *, is_new: bool, group_is_new: bool = False, joined: str | None = None
) -> IngestResult:
    """The IngestResult for a stored report row (``STORED_COLUMNS``)."""
    return IngestResult(
        report_id=row.id,
        group_id=row.group_id,
        is_new=is_new,
        group_is_new=group_is_new,
        title=row.title,
        bug_class=row.bug_class,
        rust_prevents=row.rust_prevents,
        signature=row.signature,
        joined=joined,
    )


def group_row(signature: str, src: Any, when: dt.datetime, created_by: str) -> dict[str, Any]:
    """The ``crash_groups`` row for a new group, described by its first report ``src`` (a
    PreparedReport or a stored Report: both carry the title and classification fields)."""
    return {
        "signature": signature,
        "signature_version": src.signature_version,
        "title": src.title,
        "search_key": _search_key(src.title, signature),
        "search_text": search_text(getattr(src, "parse", None), src.title, signature),
        "type": src.type,
        "bug_class": src.bug_class,
        "rust_prevents": src.rust_prevents,
        "language": src.language,
        "report_count": 0,
        "full_count": 0,
        "first_seen": when,
        "last_seen": when,
        "created_by": created_by,
        "created_at": _now(),
    }


def _client_json(client: Any) -> dict[str, Any] | None:
    """What the ``client`` column keeps of the sender (the machine hash has its own column)."""
    if not client:
        return None
    data = client.to_dict()
    data.pop("machine", None)
    return data  # type: ignore[no-any-return]


def report_row(
    p: ingest_mod.PreparedReport, group_id: int, when: dt.datetime, client: Any
) -> dict[str, Any]:
    """The ``reports`` row for a prepared report (NUL bytes removed), for every write path."""
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
        "signature": _fit_signature(p.signature),
        "signature_version": p.signature_version,
        "parser_version": p.parser_version,
        "classifier_version": p.classifier_version,
        "corrupted": p.corrupted,
        "received_at": when,
        "client": _client_json(client),
        "machine": getattr(client, "machine", None) if client else None,
        "search_text": search_text(p.parse, p.title, p.signature),
    }
    return {k: _no_nul(v) for k, v in values.items()}


# ``_strip_texts(parse)`` as SQL (the report texts removed from every entry of
# parse["reports"], array order kept), so that pruning never loads report texts into Python.
# tests/store/test_batch.py checks both against the Python function.
_STRIP_TEXTS_SQL = {
    "postgresql": (
        "jsonb_set(reports.parse, '{reports}', COALESCE((SELECT jsonb_agg(CASE WHEN "
        "jsonb_typeof(r.value) = 'object' THEN r.value - 'text' ELSE r.value END ORDER BY r.n) "
        "FROM jsonb_array_elements(CASE WHEN jsonb_typeof(reports.parse -> 'reports') = 'array' "
        "THEN reports.parse -> 'reports' ELSE '[]'::jsonb END) WITH ORDINALITY AS r(value, n)), "
        "'[]'::jsonb))"
    ),
    "sqlite": (
        "json_set(reports.parse, '$.reports', json((SELECT json_group_array(json(CASE WHEN "
        "json_type(e.value) = 'object' THEN json_remove(e.value, '$.text') ELSE e.value END)) "
        "FROM json_each(reports.parse, '$.reports') AS e)))"
    ),
}


# Flood control keeps at most this many full reports of one submitter (rate-limit key) in one
# group, within the group's sample: one client cannot push out everybody else's reports by
# sending many copies of a crash (issue 12 defect 6). Reports without a submitter key (the
# CLI, imports: the operator's own) are not limited by it.
SUBMITTER_QUOTA = 5


def better_representative(current: Any, candidate: Any, candidate_ok: Any) -> Any:
    """The group's representative after a new report (SQL): the candidate if the group has
    none, or if the candidate is complete (not corrupted) and the current one is corrupted
    (or gone); else the current one. Quality first, then age: never simply the newest."""
    current_corrupted = func.coalesce(
        select(Report.corrupted).where(Report.id == current).scalar_subquery(), True
    )
    ok: ColumnElement[bool] = (
        candidate_ok if isinstance(candidate_ok, ColumnElement) else literal(candidate_ok, Boolean)
    )
    return case(
        (current.is_(None), candidate),
        (and_(ok, current_corrupted.is_(True)), candidate),
        else_=current,
    )


class WriteMixin(JoinMixin, RepositoryBase):
    """Ingest writes (concurrency-safe: upserts and SQL-side counter updates)."""

    def store(
        self,
        prepared: ingest_mod.PreparedReport,
        *,
        client: ClientInfo | None = None,
        received_at: dt.datetime | None = None,
        submission_id: int | None = None,
    ) -> IngestResult:
        """Write a prepared report, its group and the aggregates in one transaction; or join
        it with a stored piece of the same crash (:mod:`kpanic.store.join`).

        Returns after the commit. Safe under concurrent writers in many processes.
        ``submission_id``: the queued submission it came from (recorded when joined).
        """
        when = _utc(received_at) or _now()
        existing = self._existing(prepared.content_hash)
        if existing is not None:
            return existing
        try:
            for attempt in range(WRITE_ATTEMPTS):
                try:
                    with write_session(self.engine) as s:
                        return self._store_in(s, prepared, client, when, submission_id)
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
        """The stored report of this content: its own, or the one it was joined into."""
        with read_session(self.engine) as s:
            row = s.execute(select(*STORED_COLUMNS).where(Report.content_hash == key)).first()
            if row is not None:
                return stored_result(row, is_new=False)
            piece = s.execute(
                select(*STORED_COLUMNS, ReportSource.role)
                .join(ReportSource, ReportSource.report_id == Report.id)
                .where(ReportSource.content_hash == key)
            ).first()
        return stored_result(piece, is_new=False, joined=piece.role) if piece else None

    def _store_in(
        self,
        s: Session,
        p: ingest_mod.PreparedReport,
        client: ClientInfo | None,
        when: dt.datetime,
        submission_id: int | None = None,
    ) -> IngestResult:
        joined = self._try_join(s, p, when, submission_id)
        if joined is not None:
            row = s.execute(select(*STORED_COLUMNS).where(Report.id == joined.report_id)).one()
            return stored_result(row, is_new=False, joined=joined.role)
        signature = _fit_signature(p.signature)
        group_id, group_is_new = self._resolve_group(s, signature, p, when)
        values = report_row(p, group_id, when, client)
        stmt = (
            _insert(s, Report)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["content_hash"])
            .returning(Report.id)
        )
        report_id = s.scalar(stmt)
        if report_id is None:
            raise _Duplicate
        if submission_id is not None:  # a later piece in this transaction may join it
            s.info.setdefault("kpanic_submission_of", {})[report_id] = submission_id
        self._add_to_group(s, group_id, report_id, p, when)
        self._bump_facets(s, group_id, _facets(p), +1)
        self._bump_daily(s, _day(when), _dims(p), +1)
        self._prune_group(s, group_id)
        triage.on_ingested(
            s, [triage.IngestedCrash(group_id, group_is_new, p.kernel, when, report_id)]
        )
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
            .values(**group_row(signature, p, when, "ingest"))
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
                last_report_id=better_representative(
                    CrashGroup.last_report_id, report_id, not p.corrupted
                ),
                title=case((newer, p.title), else_=CrashGroup.title),
                search_key=case((newer, _search_key_sql(p.title)), else_=CrashGroup.search_key),
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
        """Add ``delta`` to the group's kernel/arch/distro counts (rows go at zero)."""
        if not facets:
            return
        if delta > 0:  # one multi-row upsert, rows in key order (no lock-order deadlocks)
            rows = [
                {"group_id": group_id, "facet": f, "value": v, "count": delta}
                for f, v in sorted(set(facets))
            ]
            stmt = _insert(s, GroupFacet).values(rows)
            s.execute(
                stmt.on_conflict_do_update(
                    index_elements=["group_id", "facet", "value"],
                    set_={"count": GroupFacet.count + stmt.excluded.count},
                )
            )
            return
        for facet, value in sorted(set(facets)):
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
        """Add ``delta`` to the statistics counters of one report's dimensions."""
        keys = sorted({(_counter_day(day, dim), dim, value) for dim, value in dims})
        if delta > 0:  # one multi-row upsert, rows in key order
            rows = [{"day": d, "dim": k, "value": v, "count": delta} for d, k, v in keys]
            stmt = _insert(s, DailyCount).values(rows)
            s.execute(
                stmt.on_conflict_do_update(
                    index_elements=["day", "dim", "value"],
                    set_={"count": DailyCount.count + stmt.excluded.count},
                )
            )
            return
        for key_day, dim, value in keys:
            key = and_(DailyCount.day == key_day, DailyCount.dim == dim, DailyCount.value == value)
            s.execute(update(DailyCount).where(key).values(count=DailyCount.count + delta))
            s.execute(delete(DailyCount).where(key, DailyCount.count <= 0))

    def _prune_group(self, s: Session, group_id: int) -> int:
        """Flood control for one group (see :meth:`_prune_groups`)."""
        return self._prune_groups(s, [group_id])

    def _prune_groups(self, s: Session, group_ids: list[int]) -> int:
        """Flood control: in each group keep the first N full reports and the latest; drop the
        texts of the others. Rows and counts stay; ``original``/``kmsg`` and the report texts
        inside ``parse`` go (see :func:`_strip_texts`, done here in SQL). Set-based: one query
        for the groups over the limit, one UPDATE ... RETURNING for the victims of all of them,
        one executemany for the groups' full counts; no report text travels to Python."""
        limit = self.settings.sample_limit
        groups = s.execute(
            select(CrashGroup.id, CrashGroup.last_report_id).where(
                CrashGroup.id.in_(sorted(set(group_ids))), CrashGroup.full_count > limit + 1
            )
        ).all()
        if not groups:
            return 0
        keep_latest = [g.last_report_id for g in groups if g.last_report_id is not None]
        reports = cast(Table, Report.__table__)
        submitter = reports.c.client["ip"].as_string()
        # Rank within each submitter of a group (reports without a submitter key: rank 1) ...
        by_client = case(
            (submitter.is_(None), 1),
            else_=func.row_number().over(
                partition_by=(reports.c.group_id, submitter),
                order_by=(reports.c.received_at, reports.c.id),
            ),
        ).label("by_client")
        inner = (
            select(reports.c.id, reports.c.group_id, reports.c.received_at, by_client)
            .where(reports.c.group_id.in_([g.id for g in groups]), reports.c.pruned.is_(False))
            .where(reports.c.id.not_in(keep_latest))
            .subquery()
        )
        # ... then within the group, reports over their submitter's quota ranked last.
        over_quota = case((inner.c.by_client > SUBMITTER_QUOTA, 1), else_=0)
        rank = (
            func.row_number()
            .over(
                partition_by=inner.c.group_id,
                order_by=(over_quota, inner.c.received_at, inner.c.id),
            )
            .label("rank")
        )
        ranked = select(inner.c.id, inner.c.by_client, rank).subquery()
        victims = select(ranked.c.id).where(
            or_(ranked.c.rank > limit, ranked.c.by_client > SUBMITTER_QUOTA)
        )
        stripped = _STRIP_TEXTS_SQL[s.get_bind().dialect.name]
        dropped = Counter(
            s.connection().scalars(
                reports.update()
                .where(reports.c.id.in_(victims))
                .values(original=None, kmsg=None, pruned=True, parse=literal_column(stripped))
                .returning(reports.c.group_id)
            )
        )
        if not dropped:
            return 0
        groups_table = cast(Table, CrashGroup.__table__)
        s.connection().execute(
            groups_table.update()
            .where(groups_table.c.id == bindparam("gid"))
            .values(full_count=groups_table.c.full_count - bindparam("dropped")),
            [{"gid": gid, "dropped": n} for gid, n in sorted(dropped.items())],
        )
        return sum(dropped.values())
