"""Query parameters of the triage filters of the groups list (see kpanic.store.triage_list).

``triage_query`` is a dependency of ``params.filters_dep``; ``triage_filters`` turns its values
into ``Filters`` fields (``make_filters``) and ``triage_params`` gives them back as query
parameters for links that keep the filters (``filter_params``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import HTTPException, Query, Request

STATUSES = ("open", "fixed", "invalid", "duplicate")  # kpanic.triage.lifecycle.STATUSES


@dataclass(frozen=True)
class TriageQuery:
    status: str | None = None
    subsystem: str | None = None
    assignee: str | None = None
    regressed: bool | None = None
    new_since: str | None = None
    first_release: str | None = None

    def as_kwargs(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v not in (None, "")}


NO_TRIAGE_QUERY = TriageQuery()


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def _flag(value: str | None, name: str) -> bool | None:
    """An optional yes/no query value; empty (as a form's "any" sends it) means unset."""
    v = (value or "").strip().lower()
    if not v:
        return None
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    raise HTTPException(422, f"{name}: expected true or false, not {v[:20]!r}")


def triage_query(
    request: Request,
    status: Annotated[
        str | None, Query(max_length=16, description="open|fixed|invalid|duplicate")
    ] = None,
    subsystem: Annotated[str | None, Query(max_length=200, description="MAINTAINERS entry")] = None,
    assignee: Annotated[str | None, Query(max_length=128, description="assigned to")] = None,
    mine: Annotated[
        str | None, Query(max_length=8, description="true: assigned to the logged-in user")
    ] = None,
    regressed: Annotated[
        str | None, Query(max_length=8, description="true | false: reopened by a regression")
    ] = None,
    new_since: Annotated[
        str | None, Query(max_length=40, description="first crash at or after YYYY-MM-DD")
    ] = None,
    first_release: Annotated[
        str | None,
        Query(max_length=128, description="seen on this release (or prefix) but on none before"),
    ] = None,
) -> TriageQuery:
    status = (status or "").strip() or None
    if status is not None and status not in STATUSES:
        raise HTTPException(422, f"status: one of {', '.join(STATUSES)}, not {status!r}")
    if _flag(mine, "mine"):
        from kpanic.web.deps import current_admin

        admin = current_admin(request)
        if admin is None:
            raise HTTPException(
                401,
                "'mine' needs a logged-in user: log in or send a token",
                {"WWW-Authenticate": "Bearer"},
            )
        assignee = admin.name
    return TriageQuery(
        status=status,
        subsystem=subsystem,
        assignee=assignee,
        regressed=_flag(regressed, "regressed"),
        new_since=new_since,
        first_release=first_release,
    )


def triage_filters(
    *,
    status: str | None = None,
    subsystem: str | None = None,
    assignee: str | None = None,
    regressed: bool | None = None,
    new_since: str | dt.datetime | None = None,
    first_release: str | None = None,
) -> dict[str, Any]:
    """``Filters`` fields from query values (422 for a malformed date)."""
    from kpanic.web.deps import parse_day

    def clean(value: str | None, limit: int) -> str | None:
        return (value or "").strip()[:limit] or None

    since = new_since if isinstance(new_since, dt.datetime) else parse_day(new_since, "new_since")
    return {
        "status": clean(status, 16),
        "subsystem": clean(subsystem, 200),
        "assignee": clean(assignee, 128),
        "regressed": regressed,
        "new_since": since,
        "first_release": clean(first_release, 128),
    }


def triage_params(filters: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in ("status", "subsystem", "assignee", "first_release"):
        value = getattr(filters, name, None)
        if value:
            out[name] = value
    regressed = getattr(filters, "regressed", None)
    if regressed is not None:
        out["regressed"] = "true" if regressed else "false"
    new_since = getattr(filters, "new_since", None)
    if new_since is not None:
        out["new_since"] = new_since.date().isoformat()
    return out
