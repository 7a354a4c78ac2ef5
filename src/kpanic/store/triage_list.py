"""Triage filters, sorts and badges for the groups list, as additions to its query.

Self-contained so the list query (``store/queries.py``) calls it with one line each:

- ``group_conditions(engine, f)``: WHERE clauses for the triage filters of ``Filters``
  (``status``, ``subsystem``, ``assignee``, ``regressed``, ``new_since``, ``first_release``);
  filters the Filters class does not have are simply absent (read with ``getattr``).
- ``report_conditions(engine, f)``: the same, for the reports list (reports of such groups).
- ``sort_column(sort)``: sort keys the groups table does not have (``releases``: how many
  kernel releases a group was seen on).
- ``subsystem_counts`` and ``badges``: what the dashboard shows next to the list.

Every filter is an indexed semi-join (``group_triage`` by status/assignee/regressed,
``group_subsystems`` by subsystem, ``group_facets`` by kernel release), so none reads the
reports table.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, false, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from kpanic.errors import KpanicError
from kpanic.store.db import read_session
from kpanic.store.models import CrashGroup, GroupFacet, Report
from kpanic.store.triage_models import GroupSubsystem, GroupTriage
from kpanic.triage.kver import compare
from kpanic.triage.lifecycle import STATUSES

__all__ = [
    "FIRST_RELEASE_CAP",
    "ListBadge",
    "TRIAGE_FILTERS",
    "TRIAGE_SORTS",
    "badges",
    "first_release_groups",
    "group_conditions",
    "has_triage_filters",
    "report_conditions",
    "sort_column",
    "subsystem_counts",
]

# (Filters field, what it selects)
TRIAGE_FILTERS: tuple[tuple[str, str], ...] = (
    ("status", "open | fixed | invalid | duplicate (a group never triaged is open)"),
    ("subsystem", "groups owned by this MAINTAINERS subsystem"),
    ("assignee", "groups assigned to this person"),
    ("regressed", "True: reopened by a crash on a release at or after the fix"),
    ("new_since", "groups whose first crash is at or after this time"),
    ("first_release", "groups seen on this release (or release prefix) but on none before"),
)
TRIAGE_SORTS = ("releases",)
FIRST_RELEASE_CAP = 20_000  # candidate groups read for "first seen on release X"


def has_triage_filters(f: Any) -> bool:
    return any(getattr(f, name, None) not in (None, "") for name, _ in TRIAGE_FILTERS)


def _utc(t: dt.datetime) -> dt.datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=dt.UTC)


def group_conditions(engine: Engine, f: Any) -> list[ColumnElement[bool]]:
    """WHERE clauses on ``CrashGroup`` for the triage filters set in ``f``."""
    conds: list[ColumnElement[bool]] = []
    status = getattr(f, "status", None)
    if status:
        if status not in STATUSES:
            raise KpanicError(f"unknown status {status!r}: use {', '.join(STATUSES)}")
        if status == "open":
            conds.append(
                CrashGroup.id.not_in(
                    select(GroupTriage.group_id).where(GroupTriage.status != "open")
                )
            )
        else:
            conds.append(
                CrashGroup.id.in_(select(GroupTriage.group_id).where(GroupTriage.status == status))
            )
    subsystem = getattr(f, "subsystem", None)
    if subsystem:
        conds.append(
            CrashGroup.id.in_(
                select(GroupSubsystem.group_id).where(GroupSubsystem.subsystem == subsystem)
            )
        )
    assignee = getattr(f, "assignee", None)
    if assignee:
        conds.append(
            CrashGroup.id.in_(select(GroupTriage.group_id).where(GroupTriage.assignee == assignee))
        )
    regressed = getattr(f, "regressed", None)
    if regressed is not None:
        hit = CrashGroup.id.in_(select(GroupTriage.group_id).where(GroupTriage.regressed.is_(True)))
        conds.append(hit if regressed else ~hit)
    new_since = getattr(f, "new_since", None)
    if new_since is not None:
        conds.append(CrashGroup.first_seen >= _utc(new_since))
    first = getattr(f, "first_release", None)
    if first:
        with read_session(engine) as s:
            ids = first_release_groups(s, first)
        conds.append(CrashGroup.id.in_(ids) if ids else false())
    return conds


def report_conditions(engine: Engine, f: Any) -> list[ColumnElement[bool]]:
    """The triage filters for a reports list: reports of the groups they select."""
    conds = group_conditions(engine, f)
    if not conds:
        return []
    return [Report.group_id.in_(select(CrashGroup.id).where(*conds))]


def _prefix_match(release: str, prefix: str) -> bool:
    if not release.startswith(prefix):
        return False
    rest = release[len(prefix) :]
    return not rest or not rest[0].isdigit()


def first_release_groups(s: Session, release: str) -> list[int]:
    """Groups seen on ``release`` (a release or a prefix such as ``6.16``) and on no release
    that is older: the crashes a new kernel brought. Releases whose order against it cannot
    be known (another distribution's build of the same version) do not disqualify a group."""
    prefix = release.strip().removesuffix("*").removesuffix(".")
    if not prefix:
        return []
    upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)  # index range scan instead of LIKE
    candidates = (
        select(GroupFacet.group_id)
        .where(GroupFacet.facet == "kernel", GroupFacet.value >= prefix, GroupFacet.value < upper)
        .distinct()
        .limit(FIRST_RELEASE_CAP + 1)
    )
    ids = list(s.scalars(candidates))
    if len(ids) > FIRST_RELEASE_CAP:
        raise KpanicError(
            f"release {prefix!r} matches more than {FIRST_RELEASE_CAP} groups: give a longer "
            "release (e.g. 6.16.2 instead of 6)"
        )
    if not ids:
        return []
    kernels: dict[int, list[str]] = {}
    for chunk in range(0, len(ids), 1000):
        rows = s.execute(
            select(GroupFacet.group_id, GroupFacet.value).where(
                GroupFacet.facet == "kernel", GroupFacet.group_id.in_(ids[chunk : chunk + 1000])
            )
        ).all()
        for gid, value in rows:
            kernels.setdefault(int(gid), []).append(str(value))
    # Few distinct releases, many groups: decide each release once.
    verdict: dict[str, str] = {}  # "match" | "older" | "other"

    def kind(value: str) -> str:
        found = verdict.get(value)
        if found is None:
            if _prefix_match(value, prefix):
                found = "match"
            else:
                found = "older" if compare(value, prefix) == -1 else "other"
            verdict[value] = found
        return found

    out = []
    for gid, values in kernels.items():
        kinds = {kind(v) for v in values}
        if "match" in kinds and "older" not in kinds:
            out.append(gid)
    return sorted(out)


def sort_column(sort: str) -> ColumnElement[Any] | None:
    """Sort keys of the triage additions (None for keys the caller knows)."""
    if sort == "machines":  # distinct machines that sent a machine id
        return CrashGroup.machine_count.expression
    if sort == "releases":
        return (
            select(func.count())
            .where(GroupFacet.group_id == CrashGroup.id, GroupFacet.facet == "kernel")
            .correlate(CrashGroup)
            .scalar_subquery()
        )
    return None


def subsystem_counts(
    s: Session, conds: Sequence[ColumnElement[bool]] = (), limit: int = 100
) -> list[tuple[str, int]]:
    """Groups per subsystem among the groups ``conds`` select, most groups first."""
    q = (
        select(GroupSubsystem.subsystem, func.count().label("n"))
        .group_by(GroupSubsystem.subsystem)
        .order_by(func.count().desc(), GroupSubsystem.subsystem)
        .limit(limit)
    )
    if conds:
        q = q.where(GroupSubsystem.group_id.in_(select(CrashGroup.id).where(*conds)))
    return [(str(name), int(n)) for name, n in s.execute(q).all()]


@dataclass(frozen=True)
class ListBadge:
    status: str = "open"
    regressed: bool = False
    assignee: str | None = None
    fix_release: str | None = None
    subsystems: tuple[str, ...] = ()


def badges(s: Session, group_ids: Sequence[int]) -> dict[int, ListBadge]:
    """Status, regression, assignee and subsystems of the groups on one list page."""
    ids = list(group_ids)[:1000]
    if not ids:
        return {}
    rows = {
        r.group_id: r for r in s.scalars(select(GroupTriage).where(GroupTriage.group_id.in_(ids)))
    }
    subs: dict[int, list[str]] = {}
    for gid, name in s.execute(
        select(GroupSubsystem.group_id, GroupSubsystem.subsystem)
        .where(GroupSubsystem.group_id.in_(ids))
        .order_by(GroupSubsystem.group_id, GroupSubsystem.rank)
    ).all():
        subs.setdefault(int(gid), []).append(str(name))
    out: dict[int, ListBadge] = {}
    for gid in ids:
        r = rows.get(gid)
        out[gid] = ListBadge(
            status=r.status if r else "open",
            regressed=bool(r.regressed) if r else False,
            assignee=r.assignee if r else None,
            fix_release=r.fix_release if r else None,
            subsystems=tuple(subs.get(gid, ())),
        )
    return out
