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
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from kpanic.web import intake
from kpanic.web.deps import rate_limited
from kpanic.web.render import render
from kpanic.web.security import check_csrf
from kpanic.web.views import preview_context

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
    return await anyio.to_thread.run_sync(lambda: render(request, "report_preview.html", context))


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
