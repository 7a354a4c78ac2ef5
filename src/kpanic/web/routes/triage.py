"""Triage routes: a group's status, assignee and links; notification rules and their delivery
log; owners from MAINTAINERS; the group page's forms, its "copy as mail" text and Atom feeds.

Every state change needs an admin (API token or admin session; the acting user is the token's
name); cookie-authenticated calls are CSRF-checked. Errors are 4xx with a message: a change
missing what its state needs or a bad value is 422, an unknown group, link or rule is 404.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from kpanic.errors import KpanicError
from kpanic.store import triage as store_triage
from kpanic.store.db import read_session, write_session
from kpanic.triage.lifecycle import LifecycleError
from kpanic.triage.rules import EVENT_KINDS
from kpanic.web.deps import filter_params, get_repo, require_admin
from kpanic.web.params import MAX_ID, GroupSortParam, Id, OrderParam, filters_dep
from kpanic.web.security import Admin, check_csrf
from kpanic.web.triage_views import (
    base_url,
    feed_entries,
    mail_text,
    settings_of,
    triage_json,
)

router = APIRouter()
T = TypeVar("T")

StatusName = Literal["open", "fixed", "invalid", "duplicate"]


def _call(fn: Callable[[], T]) -> T:
    """Run a store call; map its refusals to 404 / 422 with the store's message."""
    try:
        return fn()
    except store_triage.TriageNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except (LifecycleError, KpanicError) as exc:
        raise HTTPException(422, str(exc)) from None


def _csrf_if_session(request: Request, admin: Admin) -> None:
    if admin.via == "session":
        check_csrf(request, None)


# ------------------------------------------------------------------------------- JSON API


class StatusRequest(BaseModel):
    status: StatusName
    commit: str | None = Field(None, max_length=200, description="fix commit (7-40 hex digits)")
    release: str | None = Field(None, max_length=128, description="first release with the fix")
    reason: str | None = Field(None, max_length=500, description="why it is invalid")
    duplicate_of: int | None = Field(None, ge=1, le=MAX_ID, description="group it duplicates")
    why: str = Field("", max_length=1000, description="recorded in the audit trail")


class AssignRequest(BaseModel):
    assignee: str | None = Field(None, max_length=128, description="empty or null: unassign")
    why: str = Field("", max_length=1000)


class LinkRequest(BaseModel):
    url: str = Field(..., max_length=2000)
    title: str = Field("", max_length=500, description="e.g. the fix commit's subject")


class RuleRequest(BaseModel):
    name: str = Field("", max_length=128)
    channel: Literal["webhook", "email"]
    target: str = Field(..., max_length=2000, description="webhook URL or mail address")
    secret: str | None = Field(
        None,
        min_length=16,
        max_length=128,
        description="webhook HMAC-SHA256 key (never shown again)",
    )
    events: list[str] = Field(default_factory=lambda: [str(e) for e in EVENT_KINDS], max_length=8)
    subsystem: str | None = Field(None, max_length=200)
    bug_class: str | None = Field(None, max_length=64)
    language: str | None = Field(None, max_length=16)
    kernel_prefix: str | None = Field(None, max_length=64)
    threshold: int = Field(0, ge=0, le=1_000_000, description="escalation: crashes in window")
    window_s: int = Field(3600, ge=60, le=30 * 86400)


@router.get(
    "/api/v1/groups/{group_id}/triage",
    tags=["triage"],
    summary="A group's status, assignee, owners, audit trail, links, possible duplicates",
)
def api_group_triage(request: Request, group_id: Id) -> dict[str, Any]:
    return _call(lambda: triage_json(request, group_id))


@router.post(
    "/api/v1/groups/{group_id}/status",
    tags=["triage"],
    summary="Change a group's status: open, fixed, invalid, duplicate (admin)",
)
def api_group_status(
    request: Request,
    group_id: Id,
    body: StatusRequest,
    admin: Annotated[Admin, Depends(require_admin)],
) -> dict[str, Any]:
    _csrf_if_session(request, admin)
    change = _call(
        lambda: store_triage.change_status(
            get_repo(request),
            group_id,
            body.status,
            who=admin.name,
            why=body.why,
            commit=body.commit,
            release=body.release,
            reason=body.reason,
            duplicate_of=body.duplicate_of,
        )
    )
    return {"summary": change.summary(), **triage_json(request, group_id)}


@router.post(
    "/api/v1/groups/{group_id}/assign",
    tags=["triage"],
    summary="Assign a group to a person, or unassign it (admin)",
)
def api_group_assign(
    request: Request,
    group_id: Id,
    body: AssignRequest,
    admin: Annotated[Admin, Depends(require_admin)],
) -> dict[str, Any]:
    _csrf_if_session(request, admin)
    _call(
        lambda: store_triage.assign(
            get_repo(request), group_id, body.assignee, who=admin.name, why=body.why
        )
    )
    return triage_json(request, group_id)


@router.post(
    "/api/v1/groups/{group_id}/links",
    tags=["triage"],
    status_code=201,
    summary="Add a tracker, lore or commit link to a group (admin)",
)
def api_group_add_link(
    request: Request,
    group_id: Id,
    body: LinkRequest,
    admin: Annotated[Admin, Depends(require_admin)],
) -> dict[str, Any]:
    _csrf_if_session(request, admin)
    link_id = _call(
        lambda: store_triage.add_link(
            get_repo(request), group_id, body.url, who=admin.name, title=body.title
        )
    )
    return {"id": link_id, "kind": store_triage.link_kind(body.url.strip())}


@router.delete(
    "/api/v1/groups/{group_id}/links/{link_id}",
    tags=["triage"],
    summary="Remove a link from a group (admin)",
)
def api_group_remove_link(
    request: Request, group_id: Id, link_id: Id, admin: Annotated[Admin, Depends(require_admin)]
) -> dict[str, Any]:
    _csrf_if_session(request, admin)
    _call(lambda: store_triage.remove_link(get_repo(request), group_id, link_id, who=admin.name))
    return {"removed": link_id}


@router.get("/api/v1/rules", tags=["triage"], summary="Notification rules (admin)")
def api_list_rules(
    request: Request, admin: Annotated[Admin, Depends(require_admin)]
) -> list[dict[str, Any]]:
    from kpanic.web.triage_views import _plain

    with read_session(get_repo(request).engine) as s:
        return [_plain(r) for r in store_triage.list_rules(s)]


@router.post(
    "/api/v1/rules",
    tags=["triage"],
    status_code=201,
    summary="Create a notification rule: webhook or e-mail (admin)",
)
def api_create_rule(
    request: Request, body: RuleRequest, admin: Annotated[Admin, Depends(require_admin)]
) -> dict[str, Any]:
    from kpanic.web.triage_views import _plain

    _csrf_if_session(request, admin)

    def create() -> store_triage.RuleInfo:
        with write_session(get_repo(request).engine) as s:
            row = store_triage.create_rule(
                s,
                name=body.name,
                channel=body.channel,
                target=body.target,
                who=admin.name,
                events=body.events,
                subsystem=body.subsystem,
                bug_class=body.bug_class,
                language=body.language,
                kernel_prefix=body.kernel_prefix,
                threshold=body.threshold,
                window_s=body.window_s,
                secret=body.secret,
            )
            return store_triage.rule_info(row)

    return _plain(_call(create))  # type: ignore[no-any-return]


@router.delete(
    "/api/v1/rules/{rule_id}",
    tags=["triage"],
    summary="Delete a rule with its outbox and delivery log (admin)",
)
def api_delete_rule(
    request: Request, rule_id: Id, admin: Annotated[Admin, Depends(require_admin)]
) -> dict[str, Any]:
    _csrf_if_session(request, admin)

    def remove() -> None:
        with write_session(get_repo(request).engine) as s:
            store_triage.delete_rule(s, rule_id)

    _call(remove)
    return {"deleted": rule_id}


@router.get(
    "/api/v1/rules/{rule_id}/deliveries",
    tags=["triage"],
    summary="A rule's delivery log: messages, attempts, the receiver's answers (admin)",
)
def api_rule_deliveries(
    request: Request, rule_id: Id, admin: Annotated[Admin, Depends(require_admin)]
) -> list[dict[str, Any]]:
    from kpanic.web.triage_views import _plain

    def read() -> list[store_triage.DeliveryInfo]:
        with read_session(get_repo(request).engine) as s:
            return store_triage.rule_deliveries(s, rule_id)

    out = []
    for d in _call(read):
        item = _plain(d)
        item["log"] = [
            {"at": _plain(at), "ok": ok, "status": st, "answer": ans} for at, ok, st, ans in d.log
        ]
        out.append(item)
    return out


@router.post(
    "/api/v1/owners/refresh",
    tags=["triage"],
    summary="Recompute every group's subsystems from KPANIC_MAINTAINERS (admin)",
)
def api_owners_refresh(
    request: Request, admin: Annotated[Admin, Depends(require_admin)]
) -> dict[str, Any]:
    _csrf_if_session(request, admin)
    settings = settings_of(request)
    if settings.maintainers_path is None:
        raise HTTPException(422, "no MAINTAINERS file is configured: set KPANIC_MAINTAINERS")
    m = _call(settings.maintainers)
    assert m is not None
    owned = _call(lambda: store_triage.assign_owners(get_repo(request), m))
    return {"groups_with_owners": owned, "subsystems_in_file": len(m.subsystems)}


@router.get(
    "/api/v1/subsystems",
    tags=["triage"],
    summary="Groups per subsystem, for the groups list's filters",
)
def api_subsystems(
    request: Request, filters: Annotated[Any, Depends(filters_dep)]
) -> list[dict[str, Any]]:
    return [{"subsystem": n, "groups": c} for n, c in _subsystem_counts(request, filters)]


def _subsystem_counts(request: Request, filters: Any) -> list[tuple[str, int]]:
    from kpanic.store import triage_list

    repo = get_repo(request)
    conds = _call(lambda: repo._group_conditions(filters))
    with read_session(repo.engine) as s:
        return triage_list.subsystem_counts(s, conds)


# ------------------------------------------------------------------------------ browser


def groups_list_context(request: Request, filters: Any, items: list[Any]) -> dict[str, Any]:
    """Extra context of the groups page: badges per row and groups per subsystem."""
    from kpanic.store import triage_list

    with read_session(get_repo(request).engine) as s:
        marks = triage_list.badges(s, [g.id for g in items])
    return {
        "triage_badges": marks,
        "subsystem_counts": _subsystem_counts(request, filters),
        "triage_statuses": ("open", "fixed", "invalid", "duplicate"),
    }


@router.get("/groups.atom", include_in_schema=False, name="groups_feed")
def groups_feed(
    request: Request,
    filters: Annotated[Any, Depends(filters_dep)],
    sort: GroupSortParam = "last_seen",
    order: OrderParam = "desc",
) -> Response:
    from kpanic.triage.feed import atom_feed

    page = _call(
        lambda: get_repo(request).list_groups(
            filters, sort=sort, descending=order == "desc", page=1, per_page=50
        )
    )
    params = filter_params(filters)
    qs = urlencode(params)
    root = base_url(request)
    described = ", ".join(f"{k}={v}" for k, v in params.items())
    body = atom_feed(
        title="kpanic crash groups" + (f" ({described})" if described else ""),
        self_url=f"{root}/groups.atom" + (f"?{qs}" if qs else ""),
        site_url=f"{root}/groups" + (f"?{qs}" if qs else ""),
        tag_authority=request.url.hostname or "kpanic",
        groups=feed_entries(request, page.items),
    )
    return Response(body, media_type="application/atom+xml; charset=utf-8")


@router.get("/groups/{group_id}/mail", include_in_schema=False, name="group_mail")
def group_mail(request: Request, group_id: Id) -> PlainTextResponse:
    detail = get_repo(request).get_group(group_id, page=1, per_page=1)
    if detail is None:
        raise HTTPException(404, f"there is no crash group {group_id}")
    return PlainTextResponse(mail_text(request, detail), headers={"content-disposition": "inline"})


Csrf = Annotated[str, Form(max_length=200)]


def _back(group_id: int) -> RedirectResponse:
    return RedirectResponse(f"/groups/{group_id}#triage", status_code=303)


def _blank_none(value: str) -> str | None:
    return value.strip() or None


@router.post(
    "/groups/{group_id}/triage/status", include_in_schema=False, name="group_triage_status"
)
def form_status(
    request: Request,
    group_id: Id,
    admin: Annotated[Admin, Depends(require_admin)],
    status: Annotated[StatusName, Form()],
    commit: Annotated[str, Form(max_length=200)] = "",
    release: Annotated[str, Form(max_length=128)] = "",
    reason: Annotated[str, Form(max_length=500)] = "",
    duplicate_of: Annotated[str, Form(max_length=24)] = "",
    why: Annotated[str, Form(max_length=1000)] = "",
    csrf_token: Csrf = "",
) -> Response:
    check_csrf(request, csrf_token)
    dup: int | None = None
    if duplicate_of.strip():
        if not duplicate_of.strip().lstrip("#").isdigit():
            raise HTTPException(422, "duplicate of: give the other group's number")
        dup = int(duplicate_of.strip().lstrip("#"))
        if not 1 <= dup <= MAX_ID:
            raise HTTPException(422, "duplicate of: no such group number")
    _call(
        lambda: store_triage.change_status(
            get_repo(request),
            group_id,
            status,
            who=admin.name,
            why=why,
            commit=_blank_none(commit),
            release=_blank_none(release),
            reason=_blank_none(reason),
            duplicate_of=dup,
        )
    )
    # A duplicate's reports now live in the other group: show that one.
    return _back(dup if status == "duplicate" and dup else group_id)


@router.post(
    "/groups/{group_id}/triage/assign", include_in_schema=False, name="group_triage_assign"
)
def form_assign(
    request: Request,
    group_id: Id,
    admin: Annotated[Admin, Depends(require_admin)],
    assignee: Annotated[str, Form(max_length=128)] = "",
    me: Annotated[str, Form(max_length=8)] = "",
    why: Annotated[str, Form(max_length=1000)] = "",
    csrf_token: Csrf = "",
) -> Response:
    check_csrf(request, csrf_token)
    who = admin.name if me else assignee
    _call(lambda: store_triage.assign(get_repo(request), group_id, who, who=admin.name, why=why))
    return _back(group_id)


@router.post("/groups/{group_id}/triage/links", include_in_schema=False, name="group_triage_link")
def form_link(
    request: Request,
    group_id: Id,
    admin: Annotated[Admin, Depends(require_admin)],
    url: Annotated[str, Form(max_length=2000)],
    title: Annotated[str, Form(max_length=500)] = "",
    csrf_token: Csrf = "",
) -> Response:
    check_csrf(request, csrf_token)
    _call(
        lambda: store_triage.add_link(get_repo(request), group_id, url, who=admin.name, title=title)
    )
    return _back(group_id)


@router.post(
    "/groups/{group_id}/triage/links/{link_id}/delete",
    include_in_schema=False,
    name="group_triage_unlink",
)
def form_unlink(
    request: Request,
    group_id: Id,
    link_id: Id,
    admin: Annotated[Admin, Depends(require_admin)],
    csrf_token: Csrf = "",
) -> Response:
    check_csrf(request, csrf_token)
    _call(lambda: store_triage.remove_link(get_repo(request), group_id, link_id, who=admin.name))
    return _back(group_id)
