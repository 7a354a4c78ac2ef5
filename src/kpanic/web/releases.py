"""The kernel releases offered in the filter drop-downs: those seen, newest first."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

_PART = re.compile(r"\d+|[^\d]+")


def version_key(release: str) -> tuple[tuple[int, int | str], ...]:
    """A sort key in which the numbers of a release compare as numbers (6.12.10 > 6.12.9)."""
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in _PART.findall(release))


def release_options(facets: Iterable[Any], limit: int = 200) -> list[str]:
    """Distinct releases from facet counts (``.value``), newest version first."""
    values = {str(f.value) for f in facets if getattr(f, "value", None)}
    return sorted(values, key=version_key, reverse=True)[:limit]
