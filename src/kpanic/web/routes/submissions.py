"""``/submissions/{id}``: the page a browser sees while its submission is being analysed.

It shows "analysing" and polls the submission's status URL (static/submission.js); when the
analysis is done the browser goes to the report, when it was rejected the page shows why.
Without JavaScript a meta refresh reloads it.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from kpanic.web import intake
from kpanic.web.params import Id
from kpanic.web.render import render

router = APIRouter(include_in_schema=False)


@router.get("/submissions/{submission_id}", name="submission_page")
async def submission_page(request: Request, submission_id: Id) -> Response:
    current = await intake.state(request, submission_id)
    if current is None:
        raise HTTPException(404, f"no submission {submission_id}")
    result = intake.result_of(request, current)
    if result.status == "done" and result.report_url:
        return RedirectResponse(f"{result.report_url}?submitted=new", status_code=303)
    return render(
        request,
        "submission.html",
        {"nav": "submit", "result": result},
        status_code=result.error_status or 200 if result.finished else 200,
    )
