"""Read side of the repository: group and report lists with filters, pages, statistics.

Lists count from the groups table; statistics read the ``daily_counts`` table."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    false,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.orm import Session

from kpanic.errors import KpanicError
from kpanic.store import search, triage_list
from kpanic.store.common import (
    _SUMMARY_COLUMNS,
    COUNT_CAP,
    FACETS,
    MONTHLY_DIMS,
    SCOPE_DIMS,
    STAT_DIMS,
    RepositoryBase,
    _as_date,
    _base_dim,
    _bucket_start,
    _clamp_page,
    _group_summary,
    _like,
    _report_detail,
    _report_summary,
    _scope,
    _utc,
)
from kpanic.store.db import read_session
from kpanic.store.models import (
    CrashGroup,
    DailyCount,
    GroupFacet,
    GroupOverride,
    Report,
)
from kpanic.store.views import (
    Bucket,
    FacetCount,
    Filters,
    GroupDetail,
    GroupSort,
    GroupSummary,
    Page,
    ReportDetail,
    ReportSort,
    ReportSummary,
    Stats,
)


def _counter_scope(f: Filters) -> str | None:
    """The counter prefix that answers statistics for ``f`` ("" = unscoped), or None when
    only the reports table can (filters other than time plus one scope dimension)."""
    scoped = [(d, getattr(f, d)) for d in SCOPE_DIMS if getattr(f, d)]
    rest = Filters(since=f.since, until=f.until, **dict(scoped))
    if rest != f or len(scoped) > 1:
        return None
    return _scope(*scoped[0]) if scoped else ""


GROUP_IDS_INLINE = 500  # text search: up to this many matching groups go in as a literal list
KERNEL_VALUES_CAP = 5000  # a kernel-release prefix may stand for at most this many releases
# Filters that select reports (not groups): a filtered groups list counts the matching ones.
# Text search selects groups (by their words) and does not narrow the count: counting each
# listed group's reports by their words would read every report of the largest groups.
REPORT_FILTERS = ("kernel", "arch", "distro", "since", "until")


@dataclasses.dataclass(frozen=True, slots=True)
class MatchedGroupSummary(GroupSummary):
    """A row of a groups list filtered by report filters (kernel, arch, distribution, time):
    ``matching_count`` of its ``report_count`` reports match them."""

    matching_count: int | None = None


def kernel_pattern(value: str) -> tuple[str, bool] | None:
    """(prefix, star) of a kernel filter: ``6.12`` is that release and every release that
    continues it with something other than a digit (6.12.3, 6.12-rc1, 6.12.3-arch1-1, not
    6.120); ``6.12.*`` (or ``6.12*``) every release that starts with ``6.12.``. None: any."""
    text = value.strip()
    star = text.endswith("*")
    prefix = text.rstrip("*")
    if not prefix:
        return None
    return prefix, star


def _kernel_match(release: str, prefix: str, star: bool) -> bool:
    if not release.startswith(prefix):
        return False
    rest = release[len(prefix) :]
    return star or not rest or not rest[0].isdigit()


class QueryMixin(RepositoryBase):
    """Queries the web pages and the API run."""

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
                values = self._kernel_values(value) if facet == "kernel" else [value]
                if values is None:
                    continue
                conds.append(
                    CrashGroup.id.in_(
                        select(GroupFacet.group_id).where(
                            GroupFacet.facet == facet, GroupFacet.value.in_(values)
                        )
                    )
                    if values
                    else false()
                )
        if f.since:
            conds.append(CrashGroup.last_seen >= _utc(f.since))
        if f.until:
            conds.append(CrashGroup.first_seen < _utc(f.until))
        if f.q and f.q.strip():
            pattern = _like(f.q.strip().lower())
            like = CrashGroup.search_key.like(pattern, escape="\\")
            words = search.query_words(f.q)
            conds.append(or_(like, search.group_match(self.dialect, words)) if words else like)
        conds += triage_list.group_conditions(self.engine, f)
        return conds

    def _kernel_values(self, value: str) -> list[str] | None:
        """The releases seen that a kernel filter stands for (None: no filter). Read from the
        release counters (one index range per kernel), compared in Python: the same answer
        whatever the database's collation."""
        pattern = kernel_pattern(value)
        if pattern is None:
            return None
        prefix, star = pattern
        with read_session(self.engine) as s:
            seen = s.scalars(
                select(DailyCount.value)
                .where(
                    DailyCount.dim == "kernel",
                    func.substr(DailyCount.value, 1, len(prefix)) == prefix,
                )
                .distinct()
                .limit(KERNEL_VALUES_CAP + 1)
            ).all()
        values = sorted({v for v in seen if _kernel_match(v, prefix, star)})
        if len(values) > KERNEL_VALUES_CAP:
            raise KpanicError(
                f"kernel {value!r} stands for more than {KERNEL_VALUES_CAP} releases: "
                "give a longer prefix (6.12 instead of 6)"
            )
        if not star and prefix not in values:
            values.append(prefix)  # exact: a release the counters do not know yet
        return values

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
        sort_col: Any = {
            "last_seen": CrashGroup.last_seen,
            "first_seen": CrashGroup.first_seen,
            "count": CrashGroup.report_count,
            "title": CrashGroup.title,
        }.get(sort)
        sort_col = sort_col if sort_col is not None else triage_list.sort_column(sort)
        if sort_col is None:
            raise KpanicError(f"unknown sort {sort!r}: use last_seen, first_seen, count or title")
        conds = self._group_conditions(f)
        order = (
            (sort_col.desc(), CrashGroup.id.desc())
            if descending
            else (sort_col.asc(), CrashGroup.id.asc())
        )
        columns = list(CrashGroup.__table__.columns)
        with read_session(self.engine) as s:
            total: int | None = None
            if f.q:
                # A text search reads every group anyway: count in the same pass.
                rows = s.execute(
                    select(*columns, func.count().over().label("_total"))
                    .where(*conds)
                    .order_by(*order)
                    .limit(per_page)
                    .offset((page - 1) * per_page)
                ).all()
                if rows:
                    total = int(rows[0]._total)
                groups = list(rows)
            else:
                groups = list(
                    s.execute(
                        select(*columns)
                        .where(*conds)
                        .order_by(*order)
                        .limit(per_page)
                        .offset((page - 1) * per_page)
                    )
                )
            if total is None:
                total = s.scalar(select(func.count()).select_from(CrashGroup).where(*conds)) or 0
            top = self._top_facets(s, [g.id for g in groups])
            matching = self._matching_counts(s, f, [g.id for g in groups])
        items: list[GroupSummary] = [
            _group_summary(g, top.get((g.id, "kernel"), []), top.get((g.id, "arch"), []))
            for g in groups
        ]
        if matching is not None:
            items = [
                MatchedGroupSummary(
                    **{k.name: getattr(g, k.name) for k in dataclasses.fields(GroupSummary)},
                    matching_count=matching.get(g.id, 0),
                )
                for g in items
            ]
        return Page(items=items, total=int(total), page=page, per_page=per_page)

    def _matching_counts(
        self, s: Session, f: Filters, group_ids: list[int]
    ) -> dict[int, int] | None:
        """Per group on the page: how many of its reports match the report filters of ``f``
        (None when it has none: then every report counts). One kernel/arch/distro filter
        alone reads the group's facet counters; anything else counts the page's reports."""
        given = {name: getattr(f, name) for name in REPORT_FILTERS if getattr(f, name)}
        if not given or not group_ids:
            return None if not given else {}
        if len(given) == 1 and (facet := next(iter(given))) in FACETS:
            value = given[facet]
            values = self._kernel_values(value) if facet == "kernel" else [value]
            if values is None:
                return None
            rows = s.execute(
                select(GroupFacet.group_id, func.sum(GroupFacet.count))
                .where(
                    GroupFacet.group_id.in_(group_ids),
                    GroupFacet.facet == facet,
                    GroupFacet.value.in_(values or [""]),
                )
                .group_by(GroupFacet.group_id)
            ).all()
            return {int(g): int(n) for g, n in rows}
        conds = self._report_conditions(Filters(**given))
        counted = s.execute(
            select(Report.group_id, func.count())
            .where(Report.group_id.in_(group_ids), *conds)
            .group_by(Report.group_id)
        ).all()
        return {int(g): int(n) for g, n in counted if g is not None}

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

    def _report_conditions(self, f: Filters, *, ordered: bool = False) -> list[ColumnElement[bool]]:
        """WHERE clauses on ``Report`` for ``f``. ``ordered``: for a page sorted by time (a
        text search with many hits then walks the time index, see ``search.report_match``);
        counts and statistics look the hits up instead."""
        conds: list[ColumnElement[bool]] = []
        for name in ("bug_class", "rust_prevents", "language", "arch", "distro"):
            value = getattr(f, name)
            if value:
                conds.append(getattr(Report, name) == value)
        if f.kernel:
            kernels = self._kernel_values(f.kernel)
            if kernels is not None:
                conds.append(Report.kernel.in_(kernels) if kernels else false())
        if f.since:
            conds.append(Report.received_at >= _utc(f.since))
        if f.until:
            conds.append(Report.received_at < _utc(f.until))
        if f.q and f.q.strip():
            conds.append(self._report_text_condition(f.q, ordered=ordered))
        conds += triage_list.report_conditions(self.engine, f)
        return conds

    def _report_text_condition(self, q: str, *, ordered: bool = False) -> ColumnElement[bool]:
        """Reports whose own words hold the query's words, or whose group's title/signature
        holds it as a substring. The groups found by substring are resolved first (usually
        few); those whose title words match the query anyway need no group condition, so the
        common search is one index lookup and not an OR (which would read whole groups)."""
        pattern = _like(q.strip().lower())
        like = CrashGroup.search_key.like(pattern, escape="\\")
        words = search.query_words(q)
        with read_session(self.engine) as s:
            rows = s.execute(
                select(CrashGroup.id, CrashGroup.title, CrashGroup.signature)
                .where(like)
                .limit(GROUP_IDS_INLINE + 1)
            ).all()
            common = (
                ordered
                and bool(words)
                and self.dialect == "sqlite"
                and search.common_words(s, words)
            )
        if len(rows) > GROUP_IDS_INLINE:
            by_group: ColumnElement[bool] = Report.group_id.in_(select(CrashGroup.id).where(like))
        else:
            extra = [gid for gid, title, sig in rows if not search.holds(f"{title}\n{sig}", words)]
            if words and not extra:
                return search.report_match(self.dialect, words, common=common)
            by_group = Report.group_id.in_(extra) if extra else false()
        if not words:
            return by_group
        return or_(by_group, search.report_match(self.dialect, words, common=common))

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
        """One page of reports (no texts). ``q`` matches the group's title/signature or the
        report's own words (frames, guilty file, modules, text: ``kpanic.store.search``).

        Totals come from the groups table when only ``group_id`` (or nothing) filters; with
        other filters the count stops at 10,000 (``total_exact`` False beyond).
        """
        f = filters or Filters()
        page, per_page = _clamp_page(page, per_page)
        sort_col = {"received_at": Report.received_at, "title": Report.title}.get(sort)
        if sort_col is None:
            raise KpanicError(f"unknown sort {sort!r}: use received_at or title")
        conds = self._report_conditions(f, ordered=True)
        count_conds = self._report_conditions(f) if f.q and f.q.strip() else list(conds)
        if group_id is not None:
            conds.append(Report.group_id == group_id)
            count_conds.append(Report.group_id == group_id)
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
                capped = select(literal(1)).where(*count_conds).limit(COUNT_CAP + 1).subquery()
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

        With only a time range and at most one of bug_class / rust_prevents / language as
        filters it reads the ``daily_counts`` table (days are UTC; the range is rounded to
        whole days; kernel releases are counted per calendar month, so their shares cover
        the whole months the range touches). Other filters (kernel, arch, distro, text, or
        several at once) query the indexed report columns directly: one grouped scan of the
        matching rows, fine for selective filters, slower for broad ones at a million.
        """
        f = filters or Filters()
        if bucket not in ("day", "week", "month"):
            raise KpanicError(f"unknown bucket {bucket!r}: use day, week or month")
        since = _utc(f.since)
        until = _utc(f.until)
        d0 = since.date() if since else None
        d1 = until.date() if until else None
        scope = _counter_scope(f)
        with read_session(self.engine) as s:
            if scope is not None:
                per_day, shares = self._stats_from_counters(s, d0, d1, scope)
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
        self, s: Session, d0: dt.date | None, d1: dt.date | None, scope: str = ""
    ) -> tuple[list[tuple[dt.date, int]], dict[str, dict[str, int]]]:
        """Statistics from the counters; ``scope`` selects counters of one filter value."""

        def day_range(monthly: bool) -> list[ColumnElement[bool]]:
            rng: list[ColumnElement[bool]] = []
            if d0:  # a monthly row counts when its month overlaps the range
                rng.append(DailyCount.day >= (d0.replace(day=1) if monthly else d0))
            if d1:
                rng.append(DailyCount.day < d1)
            return rng

        per_day = s.execute(
            select(DailyCount.day, DailyCount.count).where(
                DailyCount.dim == scope + "total", *day_range(False)
            )
        ).all()
        shares: dict[str, dict[str, int]] = {}
        for monthly in (False, True):
            dims = [scope + d for d in STAT_DIMS if (d in MONTHLY_DIMS) == monthly]
            rows = s.execute(
                select(DailyCount.dim, DailyCount.value, func.sum(DailyCount.count))
                .where(DailyCount.dim.in_(dims), *day_range(monthly))
                .group_by(DailyCount.dim, DailyCount.value)
            ).all()
            for dim, value, n in rows:
                shares.setdefault(_base_dim(dim), {})[value or "(unknown)"] = int(n)
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
