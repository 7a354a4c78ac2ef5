"""Compare two groupings of the same crashes: what a new signature version merges or splits.

A *merge* is a new group that takes crashes from two or more old groups; a *split* is an old
group whose crashes land in two or more new groups. The same comparison, with syzkaller's
expected titles as the old grouping, measures how well signatures follow titles.

The group key is :func:`group_key` (version and signature); :func:`reprocess_diff` is what
``kpanic reprocess`` prints; :func:`join_key` picks the group a partial report joins.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Container, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from kpanic.classify.sigcore import group_key

__all__ = [
    "Change",
    "GroupingDiff",
    "compare",
    "group_key",
    "join_key",
    "reprocess_diff",
    "version_label",
]


@dataclass(slots=True)
class Change:
    key: str  # the group that merges (new key) or splits (old key)
    into: list[str]  # the old keys it merges, or the new keys it splits into
    members: list[str]  # crash ids involved

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "into": self.into, "members": self.members}


@dataclass(slots=True)
class GroupingDiff:
    old_groups: int
    new_groups: int
    merges: list[Change] = field(default_factory=list)
    splits: list[Change] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "old_groups": self.old_groups,
            "new_groups": self.new_groups,
            "merges": [m.to_dict() for m in self.merges],
            "splits": [s.to_dict() for s in self.splits],
        }


def compare(pairs: Iterable[tuple[Hashable, str, str]]) -> GroupingDiff:
    """``pairs``: (crash id, old key, new key). Returns the merges and splits, sorted."""
    old_to_new: dict[str, set[str]] = defaultdict(set)
    new_to_old: dict[str, set[str]] = defaultdict(set)
    members_old: dict[str, list[str]] = defaultdict(list)
    members_new: dict[str, list[str]] = defaultdict(list)
    for cid, old, new in pairs:
        old_to_new[old].add(new)
        new_to_old[new].add(old)
        members_old[old].append(str(cid))
        members_new[new].append(str(cid))
    merges = [
        Change(new, sorted(olds), sorted(members_new[new]))
        for new, olds in sorted(new_to_old.items())
        if len(olds) > 1
    ]
    splits = [
        Change(old, sorted(news), sorted(members_old[old]))
        for old, news in sorted(old_to_new.items())
        if len(news) > 1
    ]
    return GroupingDiff(len(old_to_new), len(new_to_old), merges, splits)


def version_label(version: str, value: str) -> str:
    """How a group is named in merge/split listings: ``[2026-12-03] KASAN: ... in foo``."""
    return f"[{version}] {value}"


def reprocess_diff(rows: Iterable[tuple[Hashable, str, str, str, str]]) -> GroupingDiff:
    """What re-grouping stored reports under a new signature version merges and splits.

    ``rows``: (report id, old version, old signature, new version, new signature) per report,
    as stored and as recomputed. Groups are keyed by version *and* signature (see
    :func:`group_key`), so the old side may mix versions; keys in the result are
    :func:`version_label` strings.
    """
    return compare(
        (rid, version_label(ov, old), version_label(nv, new)) for rid, ov, old, nv, new in rows
    )


def join_key(own: str, alternatives: Sequence[str], existing: Container[str]) -> str:
    """The group key a new report joins: its own when that group exists; else the single
    alternative that exists (a partial report, e.g. a QR tail that lost the access type, joins
    the one group it can belong to, as syzkaller's alternative titles do); else its own (a new
    group) when none or several alternatives exist, since the choice would be a guess."""
    if own in existing:
        return own
    hits = [k for k in dict.fromkeys(alternatives) if k != own and k in existing]
    return hits[0] if len(hits) == 1 else own
