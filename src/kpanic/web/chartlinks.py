"""Where a bar of a statistics chart leads: the reports list filtered to what the bar counts,
keeping the filters the statistics page was drawn with."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

# Bar labels that are not a value of their dimension, so there is no list to link to.
NOT_VALUES: dict[str, tuple[str, ...]] = {
    # "other" folds the smallest categories together; "unknown" stands for "no value".
    "bug_class": ("other",),
    "rust_prevents": ("other", "unknown"),  # the verdict filter takes yes/partly/no only
    "language": ("other",),
    "kernel": ("other", "unknown"),
    "arch": ("other", "unknown"),
    "distro": ("other", "unknown"),
}


@dataclass(frozen=True, slots=True)
class ChartLinks:
    params: dict[str, Any]
    base: str = "/reports"

    def url(self, **changes: Any) -> str:
        query = {k: v for k, v in {**self.params, **changes}.items() if v not in (None, "")}
        return f"{self.base}?{urlencode(query)}" if query else self.base

    def to(self, dim: str) -> Callable[[str], str | None]:
        """The link of a bar labelled with a value of ``dim``."""
        skip = NOT_VALUES.get(dim, ("other",))
        return lambda label: None if label in skip else self.url(**{dim: label})

    def period(self, start: dt.date, end: dt.date) -> str | None:
        """The link of a time bar: reports received in [start, end)."""
        return self.url(since=start.isoformat(), until=end.isoformat())


def chart_links(params: dict[str, Any], base: str = "/reports") -> ChartLinks:
    return ChartLinks(dict(params), base)
