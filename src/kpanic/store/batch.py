"""Group commit: store many prepared reports in one transaction.

Per report, :meth:`WriteMixin.store` costs about 18 statements and one commit. A busy intake
hands whatever is pending to :meth:`BatchWriteMixin.store_many`, which writes the lot with a
fixed handful of statements: one dedup lookup, one group upsert, one multi-row report insert,
one group update per touched group, and one upsert each for facets and daily counters whose
increments are summed in Python first (a multi-row upsert may not touch one row twice).

The same database guarantees as single stores hold across processes: ``content_hash`` and
``signature`` are unique and inserted with ``ON CONFLICT``, counters are added in SQL.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Boolean, String, Table, bindparam, case, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from kpanic.errors import KpanicError
from kpanic.store import ingest as ingest_mod
from kpanic.store import triage
from kpanic.store.common import (
    WRITE_ATTEMPTS,
    _counter_day,
    _day,
    _dims,
    _Duplicate,
    _facets,
    _fit_signature,
    _insert,
    _now,
    _retryable,
    _utc,
)
from kpanic.store.db import write_session
from kpanic.store.join import big_enough, join_role, log_lines, report_text
from kpanic.store.models import CrashGroup, DailyCount, GroupFacet, GroupOverride, Report
from kpanic.store.views import ClientInfo, IngestResult
from kpanic.store.writes import (
    STORED_COLUMNS,
    WriteMixin,
    better_representative,
    group_row,
    report_row,
    stored_result,
)

MAX_BATCH = 64  # 28 columns x 64 rows stays far below SQLite's bound-parameter limit


@dataclass(slots=True)
class Pending:
    """One report waiting for the group commit."""

    prepared: ingest_mod.PreparedReport
    client: ClientInfo | None = None
    received_at: dt.datetime | None = None
    submission_id: int | None = None  # the queued submission (recorded when joined)


class BatchWriteMixin(WriteMixin):
    """:meth:`store_many`: the group-commit write path."""

    def store_many(self, items: Sequence[Pending]) -> list[IngestResult]:
        """Store up to :data:`MAX_BATCH` reports in one transaction; one result per item, in
        order, returned after the commit (same content twice: one report, both results)."""
        if len(items) > MAX_BATCH:
            out: list[IngestResult] = []
            for start in range(0, len(items), MAX_BATCH):
                out += self.store_many(items[start : start + MAX_BATCH])
            return out
        if not items:
            return []
        for attempt in range(WRITE_ATTEMPTS):
            try:
                with write_session(self.engine) as s:
                    return self._store_many_in(s, items)
            except DBAPIError as exc:
                if attempt + 1 == WRITE_ATTEMPTS or not _retryable(exc):
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _store_many_in(self, s: Session, items: Sequence[Pending]) -> list[IngestResult]:
        by_hash: dict[str, IngestResult] = {}
        hashes = sorted({it.prepared.content_hash for it in items})
        for row in s.execute(select(*STORED_COLUMNS).where(Report.content_hash.in_(hashes))):
            by_hash[row.content_hash] = stored_result(row, is_new=False)
        self._joined_pieces(s, [h for h in hashes if h not in by_hash], by_hash)
        fresh: dict[str, tuple[Pending, dt.datetime]] = {}
        for it in items:
            key = it.prepared.content_hash
            if key not in by_hash and key not in fresh:
                fresh[key] = (it, _utc(it.received_at) or _now())
        for key in self._joinable(s, fresh):
            # A piece of a stored crash (or of another item of this batch): one at a time, in
            # order, through the single-store path, so both paths join alike.
            it, when = fresh.pop(key)
            by_hash[key] = self._store_one_in(s, it, when)
        if fresh:
            self._insert_fresh(s, fresh, by_hash)
        out, seen = [], set()
        for it in items:
            res = by_hash[it.prepared.content_hash]
            if it.prepared.content_hash in seen and res.is_new:  # same content again
                res = dataclasses.replace(res, is_new=False, group_is_new=False)
            seen.add(it.prepared.content_hash)
            out.append(res)
        return out

    def _joined_pieces(
        self, s: Session, hashes: list[str], by_hash: dict[str, IngestResult]
    ) -> None:
        """Content already joined into a report as a piece: that report's result."""
        owners = self._source_owner(s, hashes)
        if not owners:
            return
        ids = sorted({rid for rid, _role in owners.values()})
        rows = {r.id: r for r in s.execute(select(*STORED_COLUMNS).where(Report.id.in_(ids)))}
        for key, (rid, role) in owners.items():
            if rid in rows:
                by_hash[key] = stored_result(rows[rid], is_new=False, joined=role)

    def _joinable(self, s: Session, fresh: dict[str, tuple[Pending, dt.datetime]]) -> list[str]:
        """The fresh items that join a stored report or another fresh item, in batch order."""
        window = self._join_window()
        if window is None:
            return []
        out: set[str] = set()
        items = list(fresh.items())
        # Per item: its lines, whether it is long enough to be a piece, and its set of lines
        # (a pair is compared only when the smaller one's second line is in the other).
        info: dict[str, tuple[list[str], bool, frozenset[str]]] = {}
        for key, (it, when) in items:
            p = it.prepared
            if p.kernel and self._find_join(s, p, when) is not None:
                out.add(key)
            text = report_text(p)
            if p.kernel and text:
                lines = log_lines(text)
                info[key] = (lines, big_enough(lines), frozenset(lines))
        for i, (ka, (a, wa)) in enumerate(items):
            if ka not in info:
                continue
            for kb, (b, wb) in items[i + 1 :]:
                pa, pb = a.prepared, b.prepared
                if kb not in info or pa.kernel != pb.kernel:
                    continue
                if pa.arch and pb.arch and pa.arch != pb.arch or abs(wa - wb) > window:
                    continue
                small, big = sorted((info[ka], info[kb]), key=lambda x: len(x[0]))
                if not small[1] or small[0][1] not in big[2]:
                    continue
                if join_role(info[ka][0], info[kb][0]) is not None:
                    out.update((ka, kb))
        return [key for key, _ in items if key in out]

    def _store_one_in(self, s: Session, it: Pending, when: dt.datetime) -> IngestResult:
        """One item through the single-store path, in a savepoint (a concurrent writer that
        stored the same content first rolls back only this item)."""
        try:
            with s.begin_nested():
                return self._store_in(s, it.prepared, it.client, when, it.submission_id)
        except _Duplicate:
            row = s.execute(
                select(*STORED_COLUMNS).where(Report.content_hash == it.prepared.content_hash)
            ).one()
            return stored_result(row, is_new=False)

    def _groups_for(
        self, s: Session, fresh: dict[str, tuple[Pending, dt.datetime]]
    ) -> tuple[dict[str, int], set[int]]:
        """Group id per signature (admin overrides first, else upserted groups) and the ids
        of the groups this transaction created."""
        first: dict[str, tuple[ingest_mod.PreparedReport, dt.datetime]] = {}
        for it, when in fresh.values():
            first.setdefault(_fit_signature(it.prepared.signature), (it.prepared, when))
        signatures = sorted(first)
        ids: dict[str, int] = dict(
            s.execute(  # type: ignore[arg-type]
                select(GroupOverride.signature, GroupOverride.group_id).where(
                    GroupOverride.signature.in_(signatures)
                )
            ).all()
        )
        missing = [sig for sig in signatures if sig not in ids]
        created: set[int] = set()
        if missing:
            rows = [group_row(sig, first[sig][0], first[sig][1], "ingest") for sig in missing]
            table = CrashGroup.__table__
            stmt = (
                _insert(s, table)
                .on_conflict_do_nothing(index_elements=["signature"])
                .returning(table.c.id, table.c.signature)
            )
            for gid, sig in s.connection().execute(stmt, rows).all():
                ids[sig] = gid
                created.add(gid)
            rest = [sig for sig in missing if sig not in ids]
            if rest:
                ids.update(
                    s.execute(
                        select(CrashGroup.signature, CrashGroup.id).where(
                            CrashGroup.signature.in_(rest)
                        )
                    ).all()
                )
        if any(sig not in ids for sig in signatures):  # pragma: no cover - deleted meanwhile
            raise KpanicError("a crash group vanished while storing; please retry")
        return ids, created

    def _insert_fresh(
        self,
        s: Session,
        fresh: dict[str, tuple[Pending, dt.datetime]],
        by_hash: dict[str, IngestResult],
    ) -> None:
        groups, created = self._groups_for(s, fresh)
        rows = [
            report_row(it.prepared, groups[_fit_signature(it.prepared.signature)], when, it.client)
            for it, when in fresh.values()
        ]
        table = Report.__table__
        stmt = (
            _insert(s, table)
            .on_conflict_do_nothing(index_elements=["content_hash"])
            .returning(table.c.id, table.c.content_hash)
        )
        inserted = {h: i for i, h in s.connection().execute(stmt, rows).all()}
        lost = [h for h in fresh if h not in inserted]  # another process stored them first
        if lost:
            for row in s.execute(select(*STORED_COLUMNS).where(Report.content_hash.in_(lost))):
                by_hash[row.content_hash] = stored_result(row, is_new=False)
        facets: Counter[tuple[int, str, str]] = Counter()
        daily: Counter[tuple[dt.date, str, str]] = Counter()
        touched: dict[int, list[tuple[dt.datetime, int, ingest_mod.PreparedReport]]] = {}
        for key, report_id in inserted.items():
            it, when = fresh[key]
            p = it.prepared
            gid = groups[_fit_signature(p.signature)]
            touched.setdefault(gid, []).append((when, report_id, p))
            for facet, value in set(_facets(p)):
                facets[(gid, facet, value)] += 1
            day = _day(when)
            for dim, value in set(_dims(p)):
                daily[(_counter_day(day, dim), dim, value)] += 1
            by_hash[key] = IngestResult(
                report_id=report_id,
                group_id=gid,
                is_new=True,
                group_is_new=gid in created,
                title=p.title,
                bug_class=p.bug_class,
                rust_prevents=p.rust_prevents,
                signature=_fit_signature(p.signature),
            )
        if not touched:
            return
        self._update_groups(s, touched)
        self._upsert_counts(s, facets, daily)
        self._prune_groups(s, sorted(touched))
        triage.on_ingested(
            s,
            [
                triage.IngestedCrash(gid, gid in created, p.kernel, when, rid)
                for gid, items in touched.items()
                for when, rid, p in items
            ],
        )

    def _update_groups(
        self,
        s: Session,
        touched: dict[int, list[tuple[dt.datetime, int, ingest_mod.PreparedReport]]],
    ) -> None:
        """Counts, first/last seen and the newest report's title and class: one executemany."""
        params = []
        for gid in sorted(touched):
            entries = touched[gid]
            when, report_id, p = max(entries, key=lambda e: (e[0], e[1]))
            # The representative candidate: the batch's first complete report (quality, then
            # age: a later flood of the same crash cannot take the place of a good one).
            rep = min(entries, key=lambda e: (e[2].corrupted, e[0], e[1]))
            params.append(
                {
                    "gid": gid,
                    "rep": rep[1],
                    "rep_ok": not rep[2].corrupted,
                    "n": len(entries),
                    "first": min(e[0] for e in entries),
                    "when": when,
                    "rid": report_id,
                    "title": p.title,
                    "tkey": p.title.lower() + "\n",
                    "type": p.type,
                    "bug_class": p.bug_class,
                    "rust_prevents": p.rust_prevents,
                    "language": p.language,
                    "sigv": p.signature_version,
                }
            )
        t = cast(Table, CrashGroup.__table__)
        newer = t.c.last_seen <= bindparam("when")
        stmt = (
            t.update()
            .where(t.c.id == bindparam("gid"))
            .values(
                report_count=t.c.report_count + bindparam("n"),
                full_count=t.c.full_count + bindparam("n"),
                first_seen=case(
                    (t.c.first_seen > bindparam("first"), bindparam("first")),
                    else_=t.c.first_seen,
                ),
                last_seen=case((newer, bindparam("when")), else_=t.c.last_seen),
                last_report_id=better_representative(
                    t.c.last_report_id, bindparam("rep"), bindparam("rep_ok", type_=Boolean)
                ),
                title=case((newer, bindparam("title")), else_=t.c.title),
                search_key=case(
                    (newer, bindparam("tkey", type_=String) + func.lower(t.c.signature)),
                    else_=t.c.search_key,
                ),
                type=case((newer, bindparam("type")), else_=t.c.type),
                bug_class=case((newer, bindparam("bug_class")), else_=t.c.bug_class),
                rust_prevents=case((newer, bindparam("rust_prevents")), else_=t.c.rust_prevents),
                language=case((newer, bindparam("language")), else_=t.c.language),
                signature_version=case((newer, bindparam("sigv")), else_=t.c.signature_version),
            )
        )
        s.connection().execute(stmt, params)

    def _upsert_counts(
        self,
        s: Session,
        facets: Counter[tuple[int, str, str]],
        daily: Counter[tuple[dt.date, str, str]],
    ) -> None:
        """One bulk upsert each (:func:`_bulk_add`), keys summed and sorted (no lock-order
        deadlocks between concurrent writers)."""
        if facets:
            _bulk_add(
                s, GroupFacet.__table__, ("group_id", "facet", "value"), sorted(facets.items())
            )
        if daily:
            _bulk_add(s, DailyCount.__table__, ("day", "dim", "value"), sorted(daily.items()))


# PostgreSQL: the whole batch as four arrays in one statement with a constant text (prepared
# once per connection); an executemany would send one statement per key, ~200 per batch.
_PG_BULK_ADD = (
    "INSERT INTO {table} ({k0}, {k1}, {k2}, count) "
    "SELECT * FROM unnest(CAST(:k0 AS {t0}[]), CAST(:k1 AS text[]), CAST(:k2 AS text[]), "
    "CAST(:n AS bigint[])) "
    "ON CONFLICT ({k0}, {k1}, {k2}) DO UPDATE SET count = {table}.count + excluded.count"
)


def _bulk_add(
    s: Session,
    table: Any,
    keys: tuple[str, str, str],
    items: Sequence[tuple[tuple[Any, str, str], int]],
) -> None:
    """Add ``n`` to ``count`` of the row keyed by each distinct ``(k0, k1, k2)``, inserting
    missing rows. SQLite: an executemany (its loop runs in C, cheap)."""
    if s.get_bind().dialect.name == "postgresql":
        first_type = "bigint" if keys[0] == "group_id" else "date"
        sql = _PG_BULK_ADD.format(
            table=table.name, k0=keys[0], k1=keys[1], k2=keys[2], t0=first_type
        )
        s.connection().execute(
            text(sql),
            {
                "k0": [k[0] for k, _ in items],
                "k1": [k[1] for k, _ in items],
                "k2": [k[2] for k, _ in items],
                "n": [n for _, n in items],
            },
        )
        return
    stmt = _insert(s, table)
    s.connection().execute(
        stmt.on_conflict_do_update(
            index_elements=list(keys), set_={"count": table.c.count + stmt.excluded.count}
        ),
        [{keys[0]: k[0], keys[1]: k[1], keys[2]: k[2], "count": n} for k, n in items],
    )
