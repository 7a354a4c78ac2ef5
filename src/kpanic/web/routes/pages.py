"""The dashboard: groups list, group page, reports, report page, statistics, submit, API docs.

Server-rendered (Jinja2, autoescaped). Handlers are plain ``def`` so FastAPI runs their
database calls in its thread pool.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response

from kpanic.pipeline.submission import SubmissionKind
from kpanic.store import redirects
from kpanic.web import intake
from kpanic.web.deps import filter_params, get_repo, rate_limited
from kpanic.web.params import GroupSortParam, Id, OrderParam, Paging, filters_dep, paging_dep
from kpanic.web.releases import release_options
from kpanic.web.render import render
from kpanic.web.routes.triage import groups_list_context
from kpanic.web.security import check_csrf
from kpanic.web.statcharts import stat_charts
from kpanic.web.triage_views import panel_context
from kpanic.web.views import crash_context

# The submit form's kinds, as the pipeline names them.
KINDS: dict[str, SubmissionKind] = {"url": "url", "log": "log", "photo": "photo"}

router = APIRouter(include_in_schema=False)


def _vocab() -> dict[str, Any]:
    from kpanic.classify.model import BUG_CLASSES, LANGUAGES, VERDICTS

    return {"bug_classes": BUG_CLASSES, "verdicts": VERDICTS, "languages": LANGUAGES}


@router.get("/groups", response_class=HTMLResponse, name="groups_page")
def groups_page(
    request: Request,
    filters: Annotated[Any, Depends(filters_dep)],
    paging: Annotated[Paging, Depends(paging_dep)],
    sort: GroupSortParam = "last_seen",
    order: OrderParam = "desc",
) -> Response:
    page = get_repo(request).list_groups(
        filters, sort=sort, descending=order == "desc", page=paging.page, per_page=paging.per_page
    )
    params = filter_params(filters)
    return render(
        request,
        "groups.html",
        {
            "nav": "groups",
            "page": page,
            "params": params,
            "sort": sort,
            "order": order,
            "per_page": paging.per_page,
            "kernels": release_options(get_repo(request).facet_values("kernel")),
            **_vocab(),
            **groups_list_context(request, filters, page.items),
        },
    )


@router.get("/groups/{group_id}", response_class=HTMLResponse, name="group_page")
def group_page(
    request: Request, group_id: Id, paging: Annotated[Paging, Depends(paging_dep)]
) -> Response:
    detail = get_repo(request).get_group(group_id, page=paging.page, per_page=paging.per_page)
    if detail is None and (target := redirects.merged_into(get_repo(request), group_id)):
        return RedirectResponse(f"/groups/{target}", status_code=301)  # merged into target
    if detail is None:
        raise HTTPException(404, f"there is no crash group {group_id} (it may have been merged)")
    rep = detail.representative
    ctx = crash_context(rep.parse if rep else None, rep.classification if rep else None)
    return render(
        request,
        "group.html",
        {
            "nav": "groups",
            "detail": detail,
            "g": detail.group,
            "rep": rep,
            **ctx,
            **panel_context(request, group_id),
        },
    )


@router.get("/reports", response_class=HTMLResponse, name="reports_page")
def reports_page(
    request: Request,
    filters: Annotated[Any, Depends(filters_dep)],
    paging: Annotated[Paging, Depends(paging_dep)],
    order: OrderParam = "desc",
) -> Response:
    page = get_repo(request).list_reports(
        filters, descending=order == "desc", page=paging.page, per_page=paging.per_page
    )
    return render(
        request,
        "reports.html",
        {
            "nav": "reports",
            "page": page,
            "params": filter_params(filters),
            "order": order,
            "per_page": paging.per_page,
            **_vocab(),
        },
    )


@router.get("/reports/{report_id}", response_class=HTMLResponse, name="report_page")
def report_page(
    request: Request,
    report_id: Id,
    submitted: Annotated[Literal["new", "duplicate", "joined"] | None, Query()] = None,
) -> Response:
    from kpanic.store.join import describe_sources

    repo = get_repo(request)
    detail = repo.get_report(report_id)
    if detail is None:
        raise HTTPException(404, f"there is no report {report_id}")
    sources = repo.report_sources(report_id)
    flash = None
    if submitted == "new":
        flash = f"Thank you: the crash report was stored as report #{report_id}."
    elif submitted == "duplicate":
        flash = f"This crash was already stored as report #{report_id}; nothing new was added."
    elif submitted == "joined":
        flash = (
            f"This is a piece of a crash already stored: it was joined with report "
            f"#{report_id}, which lists both sources and counts the crash once."
        )
    return render(
        request,
        "report.html",
        {
            "nav": "reports",
            "r": detail,
            "s": detail.summary,
            "sources": describe_sources(sources) if len(sources) > 1 else [],
            "flash": flash,
            "flash_kind": "ok",
            **crash_context(detail.parse, detail.classification),
        },
    )


@router.get("/reports/{report_id}/raw", response_class=PlainTextResponse, name="report_raw")
def report_raw(request: Request, report_id: Id) -> Response:
    """The input as received, as text/plain (never rendered as HTML by the browser)."""
    detail = get_repo(request).get_report(report_id)
    if detail is None:
        raise HTTPException(404, f"there is no report {report_id}")
    text = detail.original if detail.original is not None else detail.log_text
    if text is None:
        raise HTTPException(410, "this report's text is no longer kept (pruned or scrubbed)")
    return PlainTextResponse(text, headers={"content-disposition": "inline"})


@router.get("/stats", response_class=HTMLResponse, name="stats_page")
def stats_page(
    request: Request,
    filters: Annotated[Any, Depends(filters_dep)],
    bucket: Annotated[Literal["day", "week", "month"], Query()] = "day",
) -> Response:
    stats = get_repo(request).stats(filters, bucket=bucket)
    verdicts = dict(stats.by_rust_prevents)
    prevented = verdicts.get("yes", 0)
    known = sum(verdicts.values())
    return render(
        request,
        "stats.html",
        {
            "nav": "stats",
            "stats": stats,
            "svg": stat_charts(stats, bucket, filter_params(filters), width=560),
            "svg_narrow": stat_charts(stats, bucket, filter_params(filters), width=380),  # phones
            "prevented_share": (100.0 * prevented / known) if known else None,
            "params": filter_params(filters),
            "bucket": bucket,
            **_vocab(),
        },
    )


@router.get("/submit", response_class=HTMLResponse, name="submit_page")
def submit_page(request: Request) -> Response:
    limit = request.app.state.settings.max_log_bytes
    return render(request, "submit.html", {"nav": "submit", "max_log_mib": limit / 1024 / 1024})


@router.post("/submit", name="submit_form")
async def submit_form(request: Request) -> Response:
    """The submit page's forms (CSRF-checked), then the stored report's page.

    The form is parsed here, not by FastAPI, so that a log field may be as large as the one log
    limit (``settings.max_log_bytes``, KPANIC_MAX_LOG_BYTES) that the API applies too: the form
    parser's own default would cut text fields at 1 MB.
    """
    from starlette.datastructures import UploadFile as StarletteUpload

    settings = request.app.state.settings
    # The parser counts encoded bytes: URL-encoding makes a text up to 3 times longer. The log
    # limit itself is checked on the decoded text below.
    part_limit = 3 * max(settings.max_log_bytes, request.app.state.config.max_url_chars) + 65536
    try:
        form = await request.form(max_files=1, max_fields=10, max_part_size=part_limit)
    except HTTPException:
        raise
    except Exception as exc:  # the multipart parser's own errors: the sender's mistake
        raise HTTPException(400, f"the form could not be read: {exc}") from None
    csrf_token = str(form.get("csrf_token") or "")[:200]
    kind_text = str(form.get("kind") or "url")
    check_csrf(request, csrf_token)
    await rate_limited(request)
    if kind_text not in KINDS:
        raise HTTPException(422, "kind: expected url, log or photo")
    kind = KINDS[kind_text]
    if kind == "photo":
        photo = form.get("photo")
        if not isinstance(photo, StarletteUpload):
            raise HTTPException(422, "choose a photo to upload")
        limit = settings.max_photo_bytes
        data: Any = await photo.read(limit + 1)
        if len(data) > limit:
            raise HTTPException(413, f"the photo is over the limit of {limit} bytes")
        if not data:
            raise HTTPException(422, "the uploaded photo is empty")
    else:
        value = form.get(kind)
        data = value if isinstance(value, str) else ""
        if not data.strip():
            raise HTTPException(422, f"the {kind} field is empty")
        if kind == "log" and len(data.encode("utf-8", "replace")) > settings.max_log_bytes:
            raise HTTPException(
                413,
                f"the log is over the limit of {settings.max_log_bytes} bytes "
                f"(KPANIC_MAX_LOG_BYTES); the same limit applies to the API",
            )
    wait = request.app.state.config.page_wait_s
    return intake.redirect(await intake.submit(request, kind, data, "web", wait=wait))


@router.get("/docs", response_class=HTMLResponse, name="api_docs_page")
def api_docs_page(request: Request) -> Response:
    """Offline API reference generated from the OpenAPI schema (no CDN, no JavaScript)."""
    schema = request.app.openapi()
    endpoints = []
    for path, methods in schema.get("paths", {}).items():
        for method, op in methods.items():
            params = [
                {
                    "name": p.get("name"),
                    "in": p.get("in"),
                    "required": p.get("required", False),
                    "description": p.get("description")
                    or (p.get("schema") or {}).get("description", ""),
                }
                for p in op.get("parameters", [])
            ]
            body = op.get("requestBody", {}).get("content", {})
            endpoints.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": op.get("summary", ""),
                    "description": op.get("description", ""),
                    "params": params,
                    "body": ", ".join(body.keys()),
                    "responses": ", ".join(sorted(op.get("responses", {}).keys())),
                }
            )
    return render(
        request,
        "docs.html",
        {"nav": "docs", "endpoints": endpoints, "info": schema.get("info", {})},
    )


@router.get("/favicon.ico", include_in_schema=False)
def favicon() -> RedirectResponse:
    return RedirectResponse("/static/favicon.svg", status_code=301)
