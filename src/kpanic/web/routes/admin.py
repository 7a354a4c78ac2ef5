"""Admin pages and form actions: log in with a token, merge/split groups, delete, reprocess.

Every form is CSRF-checked; every action needs an admin (session cookie or Bearer token).
Merges and splits are recorded by the store as overrides, so they survive reprocessing.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from kpanic.errors import KpanicError
from kpanic.store import redirects
from kpanic.web.deps import get_repo, require_admin
from kpanic.web.params import MAX_ID, NO_NUL, Id, valid_id
from kpanic.web.render import render
from kpanic.web.security import (
    ADMIN_COOKIE,
    Admin,
    check_csrf,
    session_name,
    session_parent,
    session_token,
)

router = APIRouter(include_in_schema=False)

CsrfField = Annotated[str, Form(max_length=200)]


@router.get("/admin/login", response_class=HTMLResponse, name="admin_login_page")
def admin_login_page(request: Request) -> Response:
    return render(request, "login.html", {"nav": ""})


@router.post("/admin/login", name="admin_login")
def admin_login(
    request: Request,
    token: Annotated[str, Form(max_length=256)],
    csrf_token: CsrfField = "",
) -> Response:
    check_csrf(request, csrf_token)
    info = get_repo(request).verify_token(token.strip())
    if info is None:
        return render(
            request,
            "login.html",
            {"flash": "That token is not valid (or was revoked).", "flash_kind": "error"},
            status_code=401,
        )
    # The cookie gets a session token of its own, never the typed token: logging out revokes
    # it, so a copy of the cookie stops working too (kpanic.web.security).
    repo = get_repo(request)
    parent = info.id
    if session_parent(info.name) is not None:  # logging in with a session token: same parent
        parent = session_parent(info.name)[0]  # type: ignore[index]
    session = repo.create_token(session_name(parent, info.name or info.prefix))
    response = RedirectResponse("/groups", status_code=303)
    response.set_cookie(
        ADMIN_COOKIE,
        session.token,
        httponly=True,
        samesite="strict",
        secure=request.app.state.config.secure_cookies,
        path="/",
        max_age=request.app.state.config.session_max_age_s,
    )
    return response


@router.post("/admin/logout", name="admin_logout")
def admin_logout(request: Request, csrf_token: CsrfField = "") -> Response:
    check_csrf(request, csrf_token)
    token = session_token(request)
    if token:
        repo = get_repo(request)
        info = repo.verify_token(token)
        if info is not None and session_parent(info.name) is not None:
            repo.revoke_token(info.id)
    response = RedirectResponse("/groups", status_code=303)
    response.delete_cookie(ADMIN_COOKIE, path="/")
    return response


def _ids(text: str) -> list[int]:
    ids = [int(x) for x in re.findall(r"\d{1,30}", text)[:1000]]
    if not ids:
        raise HTTPException(422, "give the ids of the groups to merge (e.g. 12, 15)")
    bad = [i for i in ids if not valid_id(i)]
    if bad:
        raise HTTPException(
            422, f"there is no group {str(bad[0])[:30]}: ids run from 1 to {MAX_ID}"
        )
    return ids


def _do(fn: object) -> object:
    from kpanic.store.repository import NotFound

    try:
        return fn()  # type: ignore[operator]
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except KpanicError as exc:
        raise HTTPException(400, str(exc)) from None


@router.post("/groups/{group_id}/merge", name="group_merge")
def group_merge(
    request: Request,
    group_id: Id,
    admin: Annotated[Admin, Depends(require_admin)],
    sources: Annotated[str, Form(max_length=10_000)],
    csrf_token: CsrfField = "",
) -> Response:
    check_csrf(request, csrf_token)
    ids = _ids(sources)
    _do(lambda: get_repo(request).merge_groups(group_id, ids))
    redirects.record_merge(get_repo(request), group_id, ids)  # old addresses redirect here
    return RedirectResponse(f"/groups/{group_id}", status_code=303)


@router.post("/reports/{report_id}/split", name="report_split")
def report_split(
    request: Request,
    report_id: Id,
    admin: Annotated[Admin, Depends(require_admin)],
    csrf_token: CsrfField = "",
) -> Response:
    check_csrf(request, csrf_token)
    summary = _do(lambda: get_repo(request).split_report_to_new_group(report_id))
    return RedirectResponse(f"/groups/{summary.id}", status_code=303)  # type: ignore[attr-defined]


@router.post("/reports/{report_id}/delete", name="report_delete")
def report_delete(
    request: Request,
    report_id: Id,
    admin: Annotated[Admin, Depends(require_admin)],
    csrf_token: CsrfField = "",
) -> Response:
    check_csrf(request, csrf_token)
    if not get_repo(request).delete_report(report_id):
        raise HTTPException(404, f"there is no report {report_id}")
    return RedirectResponse("/reports", status_code=303)


@router.get("/admin", response_class=HTMLResponse, name="admin_page")
def admin_page(request: Request, admin: Annotated[Admin, Depends(require_admin)]) -> Response:
    tokens = get_repo(request).list_tokens()
    return render(request, "admin.html", {"tokens": tokens, "admin": admin})


@router.post("/admin/reprocess", name="admin_reprocess")
def admin_reprocess(
    request: Request,
    admin: Annotated[Admin, Depends(require_admin)],
    csrf_token: CsrfField = "",
) -> Response:
    check_csrf(request, csrf_token)
    summary = _do(lambda: get_repo(request).reprocess())
    tokens = get_repo(request).list_tokens()
    message = (
        f"Reprocessed {summary.reports} reports: {len(summary.moved)} moved, "  # type: ignore[attr-defined]
        f"{summary.retitled} retitled, {len(summary.errors)} errors."  # type: ignore[attr-defined]
    )
    return render(
        request,
        "admin.html",
        {"tokens": tokens, "admin": admin, "flash": message, "flash_kind": "ok"},
    )


@router.post("/admin/tokens", name="admin_create_token")
def admin_create_token(
    request: Request,
    admin: Annotated[Admin, Depends(require_admin)],
    name: Annotated[str, Form(max_length=128, pattern=NO_NUL)] = "",
    csrf_token: CsrfField = "",
) -> Response:
    check_csrf(request, csrf_token)
    new = get_repo(request).create_token(name)
    tokens = get_repo(request).list_tokens()
    return render(
        request,
        "admin.html",
        {"tokens": tokens, "admin": admin, "new_token": new.token, "flash_kind": "ok"},
    )


@router.post("/admin/tokens/{token_id}/revoke", name="admin_revoke_token")
def admin_revoke_token(
    request: Request,
    token_id: Id,
    admin: Annotated[Admin, Depends(require_admin)],
    csrf_token: CsrfField = "",
) -> Response:
    check_csrf(request, csrf_token)
    get_repo(request).revoke_token(token_id)
    return RedirectResponse("/admin", status_code=303)
