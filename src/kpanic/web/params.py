"""Query parameters shared by the API and the pages: filters, sorting, pagination."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Literal

from fastapi import Depends, Path, Query

from kpanic.web.deps import make_filters
from kpanic.web.triage_params import NO_TRIAGE_QUERY, TriageQuery, triage_query

if TYPE_CHECKING:
    from kpanic.store.repository import Filters

MAX_ID = 2**62  # ids above this cannot exist (and would overflow SQLite's INTEGER)
Id = Annotated[int, Path(ge=1, le=MAX_ID)]


def filters_dep(
    bug_class: Annotated[str | None, Query(max_length=64, description="bug class")] = None,
    rust_prevents: Annotated[
        str | None, Query(max_length=16, description="yes | partly | no")
    ] = None,
    language: Annotated[str | None, Query(max_length=16, description="c | rust | unknown")] = None,
    kernel: Annotated[str | None, Query(max_length=128, description="kernel release")] = None,
    arch: Annotated[str | None, Query(max_length=32)] = None,
    distro: Annotated[str | None, Query(max_length=64)] = None,
    since: Annotated[str | None, Query(max_length=40, description="YYYY-MM-DD (UTC)")] = None,
    until: Annotated[str | None, Query(max_length=40, description="YYYY-MM-DD (UTC)")] = None,
    q: Annotated[str | None, Query(max_length=200, description="text in title/signature")] = None,
    triage: Annotated[TriageQuery, Depends(triage_query)] = NO_TRIAGE_QUERY,
) -> Filters:
    """Filters from the query string (all optional)."""
    return make_filters(
        bug_class=bug_class,
        rust_prevents=rust_prevents,
        language=language,
        kernel=kernel,
        arch=arch,
        distro=distro,
        since=since,
        until=until,
        q=q,
        **triage.as_kwargs(),
    )


@dataclass(frozen=True, slots=True)
class Paging:
    page: int
    per_page: int


def paging_dep(
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Paging:
    return Paging(page, per_page)


GroupSortParam = Annotated[
    Literal["last_seen", "first_seen", "count", "title", "releases"],
    Query(description="sort key (releases: kernel releases seen)"),
]
ReportSortParam = Annotated[Literal["received_at", "title"], Query(description="sort key")]
OrderParam = Annotated[Literal["asc", "desc"], Query(description="sort order")]
