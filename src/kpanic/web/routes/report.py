"""``/report``: the panic URL itself is an intake.

A kernel configured with ``CONFIG_DRM_PANIC_SCREEN_QR_CODE_URL="https://host/report"`` draws
``https://host/report?a=<arch>&v=<release>&z=<digits>`` (``zl=`` before v6.15). Opening it shows
the decoded crash (nothing is stored) with a "Submit this crash report" button.

When the data sits in the fragment (``https://host/report#?a=..&z=..``) the browser never sends
it: the page's script decodes it locally and sends it only after the person agrees.
"""

from __future__ import annotations

from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from kpanic.store import redirects
from kpanic.web import intake
from kpanic.web.advice import advise
from kpanic.web.deps import get_repo, rate_limited
from kpanic.web.params import Id
from kpanic.web.render import render
from kpanic.web.security import check_csrf
from kpanic.web.views import preview_context, primary_report

router = APIRouter(include_in_schema=False)

DATA_PARAMS = ("z", "zl")


@router.get("/report", response_class=HTMLResponse, name="report_intake")
async def report_intake(request: Request) -> Response:
    """Decode a panic URL's query for review, or serve the in-browser fragment decoder."""
    if not any(p in request.query_params for p in DATA_PARAMS):
        return await anyio.to_thread.run_sync(
            lambda: render(request, "report_fragment.html", {"nav": "submit"})
        )
    await rate_limited(request)
    url = str(request.url)
    prepared = await intake.prepare(request, "url", url)
    context: dict[str, Any] = {"nav": "submit", "url": url, **preview_context(prepared)}

    def page() -> Response:
        group = redirects.group_for_signature(get_repo(request), prepared.signature)
        context["advice"] = advice_for_prepared(prepared, group)
        context["known_group"] = group
        return render(request, "report_preview.html", context)

    return await anyio.to_thread.run_sync(page)


@router.get("/report/advice/{report_id}", name="report_advice")
def report_advice(request: Request, report_id: Id) -> dict[str, Any]:
    """The stored report in plain words (what crashed, is it known, what next) for the
    in-browser preview, which shows it after the person chose to store the crash."""
    repo = get_repo(request)
    detail = repo.get_report(report_id)
    if detail is None:
        raise HTTPException(404, f"there is no report {report_id}")
    s = detail.summary
    group = None
    if s.group_id is not None:
        found = repo.get_group(s.group_id, page=1, per_page=1)
        group = found.group if found is not None else None
    crash = primary_report(detail.parse)
    link = str(request.base_url).rstrip("/") + (
        f"/groups/{s.group_id}" if s.group_id is not None else f"/reports/{report_id}"
    )
    return {
        "report_id": report_id,
        "group_id": s.group_id,
        "title": s.title,
        **advise(
            title=s.title,
            bug_class=s.bug_class,
            rust_prevents=s.rust_prevents,
            guilty=crash.get("guilty_frame"),
            kernel=s.kernel,
            arch=s.arch,
            distro=s.distro,
            group=group,
            stored=True,
            link=link,
        ).to_dict(),
    }


def advice_for_prepared(prepared: Any, group: Any) -> Any:
    """Plain words for a decoded, not yet stored crash (the server-rendered preview)."""
    crash = primary_report(prepared.parse)
    return advise(
        title=prepared.title,
        bug_class=prepared.bug_class,
        rust_prevents=prepared.rust_prevents,
        guilty=crash.get("guilty_frame"),
        kernel=prepared.kernel,
        arch=prepared.arch,
        distro=prepared.distro,
        group=group,
        stored=False,
    )


@router.post("/report", name="report_intake_submit")
async def report_intake_submit(
    request: Request,
    url: Annotated[str, Form(max_length=70_000)],
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """The "Submit this crash report" form of the preview page: store, then show the report."""
    check_csrf(request, csrf_token)
    await rate_limited(request)
    wait = request.app.state.config.page_wait_s
    return intake.redirect(await intake.submit(request, "url", url, "web", wait=wait))
