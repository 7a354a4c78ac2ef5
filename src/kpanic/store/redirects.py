"""Where a crash group's address or a crash signature leads now.

A merge deletes the merged groups; their old addresses (``/groups/12``) must keep working, so
the merge is also recorded as a ``group_overrides`` row whose signature is the words
``merged group #12`` (no classifier signature looks like that, so grouping never matches it)
pointing at the group it went into. A later merge of that group moves the row along with the
group's other overrides (``merge_groups`` re-points every override of a merged group), so a
chain of merges still ends at the live group; deleting the group deletes the row (cascade).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select

from kpanic.store.common import _fit_signature, _group_summary, _insert, _now
from kpanic.store.db import read_session, write_session
from kpanic.store.models import CrashGroup, GroupOverride
from kpanic.store.views import GroupSummary

MERGED = "merged group #{}"


def record_merge(repo: Any, target_id: int, source_ids: Iterable[int]) -> None:
    """Remember that the groups ``source_ids`` were merged into ``target_id``."""
    sources = sorted({int(x) for x in source_ids} - {int(target_id)})
    if not sources:
        return
    with write_session(repo.engine) as s:
        for src in sources:
            stmt = _insert(s, GroupOverride).values(
                signature=MERGED.format(src),
                group_id=int(target_id),
                kind="merge",
                created_at=_now(),
            )
            s.execute(
                stmt.on_conflict_do_update(
                    index_elements=["signature"], set_={"group_id": int(target_id)}
                )
            )


def merged_into(repo: Any, group_id: int) -> int | None:
    """The live group that group ``group_id`` was merged into, or None."""
    with read_session(repo.engine) as s:
        target = s.scalar(
            select(GroupOverride.group_id).where(GroupOverride.signature == MERGED.format(group_id))
        )
    return None if target is None or int(target) == int(group_id) else int(target)


def group_for_signature(repo: Any, signature: str) -> GroupSummary | None:
    """The group a new report with this signature would join (its own, or a merge's target)."""
    if not signature:
        return None
    with read_session(repo.engine) as s:
        signature = _fit_signature(signature)
        g = s.scalars(select(CrashGroup).where(CrashGroup.signature == signature)).first()
        if g is None:
            target = s.scalar(
                select(GroupOverride.group_id).where(GroupOverride.signature == signature)
            )
            g = s.get(CrashGroup, target) if target is not None else None
        return _group_summary(g, [], []) if g is not None else None
