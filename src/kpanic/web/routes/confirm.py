"""``/admin/confirm``: the confirmation step before a destructive admin action.

The dashboard's Delete, Revoke, Merge and Reprocess buttons lead here (a plain GET form, so it
works without JavaScript); this page says what will happen to what, and only its own button
posts to the action itself (with the CSRF token). The actions' POST endpoints are unchanged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response

from kpanic.web.deps import get_repo, require_admin
from kpanic.web.render import render
from kpanic.web.security import Admin

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True, slots=True)
class Action:
    route: str  # the POST endpoint that does it
    param: str | None  # its path parameter (the id), if any
    title: str
    consequence: str  # what happens, said before it happens
    button: str
    danger: bool = True


# Each destructive admin action, with why it needs a confirmation step.
ACTIONS: dict[str, Action] = {
    # Deleting removes the report's text for good: nothing can bring it back.
    "delete-report": Action(
        "report_delete",
        "report_id",
        "Delete report #{id}?",
        "The report, its kernel log and its decoded data are removed for good, and its crash "
        "group's counts go down. This cannot be undone.",
        "Delete the report",
    ),
    # Revoking cuts off every program and person that uses the token, at once.
    "revoke-token": Action(
        "admin_revoke_token",
        "token_id",
        "Revoke API token #{id}?",
        "Every program and person that uses this token loses admin access at once. A revoked "
        "token cannot be restored: a new one has to be created.",
        "Revoke the token",
    ),
    # Merging deletes the merged groups (their reports move); only splitting report by report
    # takes it apart again.
    "merge-groups": Action(
        "group_merge",
        "group_id",
        "Merge into crash group #{id}?",
        "The reports of the groups below move into this group and the groups themselves are "
        "deleted; their addresses lead here from now on, and new reports of their kind join "
        "this group. To undo it, reports have to be split off one by one.",
        "Merge the groups",
    ),
    # Reprocessing re-groups every report: slow on a big database, and groups may move.
    "reprocess": Action(
        "admin_reprocess",
        None,
        "Reprocess every report?",
        "Every stored report is parsed, classified and grouped again with this version of "
        "kpanic. Reports may move between groups (merges and splits made by admins are kept). "
        "On a large database this takes a while.",
        "Reprocess all reports",
        danger=False,
    ),
}


def _group(request: Request, group_id: int) -> Any:
    detail = get_repo(request).get_group(group_id, page=1, per_page=1)
    if detail is None:
        raise HTTPException(404, f"there is no crash group {group_id}")
    return detail.group


@router.get("/admin/confirm", response_class=HTMLResponse, name="admin_confirm")
def admin_confirm(
    request: Request,
    admin: Annotated[Admin, Depends(require_admin)],
    action: Annotated[
        Literal["delete-report", "revoke-token", "merge-groups", "reprocess"], Query()
    ],
    id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    sources: Annotated[str, Query(max_length=10_000)] = "",
) -> Response:
    spec = ACTIONS[action]
    if spec.param is not None and id is None:
        raise HTTPException(422, f"{action} needs the id of what it acts on")
    target = request.url_for(spec.route, **({spec.param: id} if spec.param else {}))
    context: dict[str, Any] = {
        "spec": spec,
        "title": spec.title.format(id=id),
        "target": target,
        "fields": {},
        "items": [],
    }
    if action == "delete-report":
        detail = get_repo(request).get_report(int(id or 0))
        if detail is None:
            raise HTTPException(404, f"there is no report {id}")
        context["items"] = [f"Report #{id}: {detail.summary.title}"]
        context["cancel"] = request.url_for("report_page", report_id=id)
    elif action == "merge-groups":
        ids = [int(x) for x in re.findall(r"\d+", sources)[:1000] if int(x) != id]
        if not ids:
            raise HTTPException(422, "give the ids of the groups to merge (e.g. 12, 15)")
        into = _group(request, int(id or 0))
        groups = [_group(request, i) for i in ids]
        context["items"] = [f"Group #{g.id}: {g.title} ({g.report_count} reports)" for g in groups]
        context["into"] = f"Group #{into.id}: {into.title}"
        context["fields"] = {"sources": ", ".join(map(str, ids))}
        context["cancel"] = request.url_for("group_page", group_id=id)
    else:
        context["cancel"] = request.url_for("admin_page")
    return render(request, "confirm.html", context)
