"""Admin operations: merge groups, split a report out, delete, reprocess after an upgrade.

Merges and splits are stored as overrides (signature -> group, report -> group) that ingest
and reprocessing apply first, so they stick."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor

from sqlalchemy import (
    case,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.orm import Session

from kpanic.errors import KpanicError
from kpanic.store import ingest as ingest_mod
from kpanic.store.common import (
    FACETS,
    NotFound,
    _day,
    _dims,
    _facets,
    _fit_signature,
    _for_update,
    _group_summary,
    _insert,
    _now,
    _search_key_sql,
    _strip_texts,
    _utc,
)
from kpanic.store.db import read_session, write_session
from kpanic.store.models import (
    CrashGroup,
    GroupFacet,
    GroupOverride,
    Report,
)
from kpanic.store.queries import QueryMixin
from kpanic.store.views import (
    GroupSummary,
    Move,
    ReprocessSummary,
)
from kpanic.store.writes import WriteMixin, group_row


@dataclasses.dataclass
class _ReprocessState:
    done: int = 0
    retitled: int = 0
    moved: list[Move] = dataclasses.field(default_factory=list)
    errors: list[tuple[int, str]] = dataclasses.field(default_factory=list)
    touched: set[int] = dataclasses.field(default_factory=set)
    created: list[int] = dataclasses.field(default_factory=list)


class AdminMixin(WriteMixin, QueryMixin):
    """Changes an administrator asks for."""

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
            split_sig = _fit_signature(f"{r.signature}#split-{r.id}")
            new_id = s.scalar(
                _insert(s, CrashGroup)
                .values(**group_row(split_sig, r, when, "split"))
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
                func.count(func.distinct(Report.machine)),
            ).where(Report.group_id == group_id)
        ).one()
        count, first, last, full, machines = agg
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
        # The representative: quality, then age (the first complete report), as at intake.
        representative = s.scalar(
            select(Report.id)
            .where(Report.group_id == group_id)
            .order_by(Report.corrupted.asc(), Report.received_at.asc(), Report.id.asc())
            .limit(1)
        )
        s.execute(
            update(CrashGroup)
            .where(CrashGroup.id == group_id)
            .values(
                report_count=count,
                full_count=int(full or 0),
                first_seen=first,
                last_seen=last,
                last_report_id=representative,
                machine_count=int(machines or 0),
                title=latest.title,
                search_key=_search_key_sql(latest.title),
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
