"""Compare two groupings of the same crashes: what a new signature version merges or splits.

A *merge* is a new group that takes crashes from two or more old groups; a *split* is an old
group whose crashes land in two or more new groups. The same comparison, with syzkaller's
expected titles as the old grouping, measures how well signatures follow titles.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any


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
