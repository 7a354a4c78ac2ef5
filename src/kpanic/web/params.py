"""Query parameters shared by the API and the pages: filters, sorting, pagination."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Literal

from fastapi import Depends, HTTPException, Path, Query, Request
from pydantic import Field

from kpanic.web.deps import make_filters
from kpanic.web.triage_params import NO_TRIAGE_QUERY, TriageQuery, triage_query

if TYPE_CHECKING:
    from kpanic.store.repository import Filters

# Ids are the databases' 64-bit signed integers (SQLite INTEGER, PostgreSQL BIGINT): anything
# outside 1..2**63-1 cannot name a row and would overflow the driver's parameter binding.
MAX_ID = 2**63 - 1
Id = Annotated[int, Path(ge=1, le=MAX_ID)]
BodyId = Annotated[int, Field(ge=1, le=MAX_ID)]


# Text that reaches a database column may not hold NUL (PostgreSQL refuses it): a 422.
NO_NUL = r"^[^\x00]*$"


def valid_id(value: int) -> bool:
    """True when ``value`` can be a row id (for ids parsed out of free text)."""
    return 1 <= value <= MAX_ID


_KNOWN: dict[int, frozenset[str]] = {}


def known_query_params(request: Request) -> frozenset[str]:
    """The query parameters the matched route declares (its own and its dependencies')."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return frozenset(request.query_params.keys())
    found = _KNOWN.get(id(route))
    if found is None:
        names: set[str] = set()
        todo = [dependant]
        while todo:  # the route's parameters and those of every dependency below it
            d = todo.pop()
            names.update(str(getattr(p, "alias", None) or p.name) for p in d.query_params)
            todo.extend(d.dependencies)
        found = frozenset(names)
        _KNOWN[id(route)] = found
    return found


def reject_unknown_params(request: Request) -> None:
    """422 naming a query parameter the route does not take, and the ones it does: a
    misspelt filter (``?kernal=6.12``) must not silently list everything."""
    known = known_query_params(request)
    unknown = [name for name in request.query_params.keys() if name not in known]
    if unknown:
        names = ", ".join(repr(n[:40]) for n in dict.fromkeys(unknown))
        raise HTTPException(
            422,
            f"unknown query parameter {names}: this address takes {', '.join(sorted(known))}",
        )


def filters_dep(
    request: Request,
    bug_class: Annotated[str | None, Query(max_length=64, description="bug class")] = None,
    rust_prevents: Annotated[
        str | None, Query(max_length=16, description="yes | partly | no")
    ] = None,
    language: Annotated[str | None, Query(max_length=16, description="c | rust | unknown")] = None,
    kernel: Annotated[
        str | None,
        Query(
            max_length=128,
            description="kernel release, or a prefix: 6.12 (6.12, 6.12.x, 6.12-rc1...), 6.12.*",
        ),
    ] = None,
    arch: Annotated[str | None, Query(max_length=32)] = None,
    distro: Annotated[str | None, Query(max_length=64)] = None,
    since: Annotated[str | None, Query(max_length=40, description="YYYY-MM-DD (UTC)")] = None,
    until: Annotated[str | None, Query(max_length=40, description="YYYY-MM-DD (UTC)")] = None,
    q: Annotated[
        str | None,
        Query(
            max_length=200,
            description="words in the title, signature, stack frames, guilty file, modules "
            "or report text",
        ),
    ] = None,
    triage: Annotated[TriageQuery, Depends(triage_query)] = NO_TRIAGE_QUERY,
) -> Filters:
    """Filters from the query string (all optional); 422 for a parameter the route does not
    declare."""
    reject_unknown_params(request)
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
    Literal["last_seen", "first_seen", "count", "title", "releases", "machines"],
    Query(description="sort key (releases: kernel releases seen; machines: distinct machines)"),
]
ReportSortParam = Annotated[Literal["received_at", "title"], Query(description="sort key")]
OrderParam = Annotated[Literal["asc", "desc"], Query(description="sort order")]
