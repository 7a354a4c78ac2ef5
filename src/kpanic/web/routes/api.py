"""The JSON API (``/api/v1``): intake, lists with filters and pagination, statistics, admin."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, HTTPException, Query, Request, UploadFile
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, Field, field_validator

from kpanic.pipeline.result import SubmitResult
from kpanic.pipeline.submission import SubmissionKind, valid_text
from kpanic.store import redirects
from kpanic.web import intake
from kpanic.web.deps import current_admin, for_viewer, get_repo, rate_limited, require_admin
from kpanic.web.params import (
    MAX_ID,
    NO_NUL,
    BodyId,
    GroupSortParam,
    Id,
    OrderParam,
    Paging,
    ReportSortParam,
    filters_dep,
    paging_dep,
)
from kpanic.web.security import Admin, check_csrf

router = APIRouter(prefix="/api/v1", tags=["api"])


class SubmitRequest(BaseModel):
    """Exactly one of ``url`` (a panic URL), ``payload`` (the text a QR scanner read) or
    ``log`` (a raw kernel log: dmesg, serial console, pstore)."""

    url: str | None = Field(None, description="https://host/report?a=x86_64&v=6.15.0&z=…")
    payload: str | None = Field(None, description="raw QR payload (URL or raw-mode kmsg)")
    log: str | None = Field(None, description="raw kernel log text")
    machine: str | None = Field(
        None,
        max_length=32,
        description="optional app-specific machine id (32 hex digits; `kpanic submit` derives "
        "it from /etc/machine-id as sd_id128_get_machine_app_specific does): counted as "
        "distinct machines per group, stored only as a keyed hash, never shown",
    )


class SubmitResponse(BaseModel):
    """A submission's outcome (kpanic.pipeline.result.SubmitResult): ``status`` queued or
    running (202: poll ``status_url``), done (201 new report, 200 already stored), rejected or
    failed (``error_status``/``error``). ``id`` is the report's id once analysed."""

    submission_id: int | None
    status: Literal["queued", "running", "done", "rejected", "failed"]
    status_url: str | None
    id: int | None
    report_id: int | None
    group_id: int | None
    is_new: bool
    group_is_new: bool
    title: str | None
    bug_class: str | None
    rust_prevents: str | None
    signature: str | None
    language: str | None
    kernel: str | None
    arch: str | None
    report_url: str | None
    group_url: str | None
    error_status: int | None
    error: str | None
    joined_report_id: int | None = Field(
        None, description="this input was a piece of a stored crash, joined with this report"
    )
    joined_as: Literal["piece", "fuller"] | None = Field(
        None,
        description="piece: its text was already in the report's; fuller: the report now "
        "keeps this fuller text",
    )


class MergeRequest(BaseModel):
    source_ids: list[BodyId] = Field(..., min_length=1, max_length=1000)


class TokenRequest(BaseModel):
    name: str = Field("", max_length=128, pattern=NO_NUL)

    @field_validator("name")
    @classmethod
    def _valid_text(cls, value: str) -> str:
        return valid_text(value)


Wait = Annotated[
    float,
    Query(
        ge=0,
        le=intake.MAX_WAIT_S,
        description="wait up to this many seconds for the analysis (0: answer 202 at once)",
    ),
]
SUBMIT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "analysed: the same crash was already stored"},
    201: {"description": "analysed: a new report"},
    202: {"description": "accepted: being analysed, poll status_url"},
    413: {},
    422: {},
    429: {},
}


def _submitted(request: Request, result: SubmitResult) -> JSONResponse:
    from kpanic.observe import SUBMISSIONS

    SUBMISSIONS.labels(request.url.path, f"{result.status}:{result.http_status}").inc()
    intake.raise_for(result)
    return JSONResponse(result.to_dict(), status_code=result.http_status)


def _admin_csrf(request: Request, admin: Admin) -> None:
    """Cookie-authenticated admin calls must carry the CSRF header; Bearer calls need not."""
    if admin.via == "session":
        check_csrf(request, None)


# The body of POST /reports: JSON (SubmitRequest), or the log itself as plain text. curl's
# ``--data-binary @dmesg.txt`` sends a file as application/x-www-form-urlencoded without
# encoding it: such a body is the log, unless it is a real form of the SubmitRequest fields.
JSON_TYPES = ("application/json",)
TEXT_TYPES = ("text/plain", "application/x-www-form-urlencoded", "application/octet-stream")
SUBMIT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": SubmitRequest.model_json_schema()},
            "text/plain": {
                "schema": {"type": "string", "description": "a raw kernel log (dmesg, console)"}
            },
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "string",
                    "description": "curl --data-binary @dmesg.txt: the body is the raw log",
                }
            },
        },
    }
}
_FORM_FIELDS = ("url", "payload", "log")


async def _submit_body(request: Request) -> tuple[str, str | bytes, str | None]:
    """(given field, value, machine id) of a POST /reports body: JSON, a form, or a raw text
    log (the machine id comes in the JSON or, for every form, in the X-Kpanic-Machine header)."""
    from urllib.parse import parse_qs

    from fastapi.exceptions import RequestValidationError
    from pydantic import ValidationError
    from starlette.requests import ClientDisconnect

    ctype = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    limit = request.app.state.settings.max_log_bytes
    try:
        raw = await request.body()
    except ClientDisconnect:  # the body limit cut it off (and has answered 413 already)
        raise HTTPException(413, "the request body is over the limit") from None
    is_json = ctype in JSON_TYPES or ctype.endswith("+json")
    if not ctype and raw.lstrip()[:1] == b"{":
        is_json = True
    if is_json:
        import json

        try:  # Python's JSON reader: a lone surrogate escape is text the pipeline replaces
            data = json.loads(raw or b"{}")
        except (ValueError, RecursionError) as exc:
            raise HTTPException(422, f"invalid request: the body is not JSON ({exc})") from None
        try:
            body = SubmitRequest.model_validate(data)
        except ValidationError as exc:
            raise RequestValidationError(exc.errors(include_url=False)) from None
        given = (("url", body.url), ("payload", body.payload), ("log", body.log))
        present = [(k, v) for k, v in given if v is not None and v.strip()]
        if len(present) != 1:
            raise HTTPException(422, "give exactly one of url, payload or log")
        return (*present[0], body.machine)
    if ctype and ctype not in TEXT_TYPES:
        raise HTTPException(
            415,
            f'unsupported Content-Type {ctype[:60]!r}: send JSON ({{"log": ...}}, '
            '{"url": ...}), a plain-text log (text/plain, or curl --data-binary @dmesg.txt), '
            "or a photo to /api/v1/reports/photo",
        )
    if len(raw) > limit:
        raise HTTPException(
            413, f"the log is over the limit of {limit} bytes (KPANIC_MAX_LOG_BYTES)"
        )
    if ctype == "application/x-www-form-urlencoded" and raw.split(b"=", 1)[0] in (
        f.encode() for f in _FORM_FIELDS
    ):
        form = parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True)
        if set(form) <= set(_FORM_FIELDS):
            present = [(k, v[0]) for k, v in form.items() if len(v) == 1 and v[0].strip()]
            if len(present) != 1 or len(form) != 1:
                raise HTTPException(422, "give exactly one of url, payload or log")
            return (*present[0], None)
    if not raw.strip():
        raise HTTPException(422, "the body is empty: send a kernel log or JSON")
    return "log", raw, None


@router.post(
    "/reports",
    response_model=SubmitResponse,
    status_code=202,
    responses={**SUBMIT_RESPONSES, 415: {}},
    summary="Submit a panic URL, QR payload or raw log (JSON, or the log as plain text)",
    openapi_extra=SUBMIT_BODY,
)
async def api_submit_report(request: Request, wait: Wait = 0) -> JSONResponse:
    """Accept one crash: 202 once it is stored for analysis (poll ``status_url``). With
    ``?wait=N`` the answer waits up to N seconds for the analysis: 201 for a new report, 200
    when the same crash text was already stored, 4xx when the input holds no readable crash.
    A repeat of an input already analysed is answered 200 at once.

    The body is JSON with exactly one of ``url``, ``payload`` or ``log``, or the log itself
    as text: ``curl --data-binary @dmesg.txt https://server/api/v1/reports`` (curl's default
    form type, or ``Content-Type: text/plain``)."""
    given_kind, value, machine = await _submit_body(request)
    await rate_limited(request)
    kind: SubmissionKind = "log" if given_kind == "log" else "url"  # a payload decodes as a URL
    done = await intake.submit(request, kind, value, "api", wait=wait, machine=machine)
    return _submitted(request, done)


@router.post(
    "/reports/photo",
    response_model=SubmitResponse,
    status_code=202,
    responses=SUBMIT_RESPONSES,
    summary="Submit a photo of a panic QR code (multipart upload, field 'photo')",
)
async def api_submit_photo(
    request: Request,
    photo: Annotated[UploadFile, File(description="JPEG/PNG/HEIC")],
    wait: Wait = 0,
) -> JSONResponse:
    await rate_limited(request)
    data = await _read_upload(request, photo, request.app.state.settings.max_photo_bytes)
    return _submitted(request, await intake.submit(request, "photo", data, "api", wait=wait))


@router.post(
    "/reports/log",
    response_model=SubmitResponse,
    status_code=202,
    responses=SUBMIT_RESPONSES,
    summary="Submit a kernel log file (multipart upload, field 'file')",
)
async def api_submit_log_file(
    request: Request,
    file: Annotated[UploadFile, File(description="dmesg / console log")],
    wait: Wait = 0,
) -> JSONResponse:
    await rate_limited(request)
    data = await _read_upload(request, file, request.app.state.settings.max_log_bytes)
    return _submitted(request, await intake.submit(request, "log", data, "api", wait=wait))


async def _read_upload(request: Request, upload: UploadFile, limit: int) -> bytes:
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise HTTPException(413, f"the upload is over the limit of {limit} bytes")
    if not data:
        raise HTTPException(422, "the upload is empty")
    return data


@router.get(
    "/submissions/{submission_id}",
    response_model=SubmitResponse,
    summary="A submission's state: queued, running, done (with its report), rejected, failed",
)
async def api_submission(request: Request, submission_id: Id, wait: Wait = 0) -> JSONResponse:
    """The status URL of a submission (no error status: a rejected one is answered 200 with
    ``status`` and ``error``). ``?wait=N`` waits up to N seconds for it to finish."""
    current = await intake.wait_for(request, submission_id, wait)
    if current is None:
        raise HTTPException(404, f"no submission {submission_id}")
    return JSONResponse(intake.result_of(request, current).to_dict())


@router.get("/submissions", summary="Failed submissions with their errors (admin)")
def api_failed_submissions(
    request: Request,
    admin: Annotated[Admin, Depends(require_admin)],
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    from kpanic.store import queue

    return [
        {
            "id": s.id,
            "kind": s.kind,
            "status": s.status,
            "attempts": s.attempts,
            "error": s.error,
            "created_at": s.created_at.isoformat(),
            "finished_at": s.finished_at.isoformat() if s.finished_at else None,
        }
        for s in queue.failed(get_repo(request).engine, limit)
    ]


@router.get("/reports", summary="List reports (filters, sorting, pagination)")
def api_list_reports(
    request: Request,
    filters: Annotated[Any, Depends(filters_dep)],
    paging: Annotated[Paging, Depends(paging_dep)],
    sort: ReportSortParam = "received_at",
    order: OrderParam = "desc",
    group_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> dict[str, Any]:
    page = get_repo(request).list_reports(
        filters,
        group_id=group_id,
        sort=sort,
        descending=order == "desc",
        page=paging.page,
        per_page=paging.per_page,
    )
    return page.to_dict()


@router.get("/reports/{report_id}", summary="One report with its texts and results")
def api_get_report(request: Request, report_id: Id) -> dict[str, Any]:
    repo = get_repo(request)
    detail = repo.get_report(report_id)
    if detail is None:
        raise HTTPException(404, f"no report {report_id}")
    out = for_viewer(request, detail.to_dict())
    # The pieces of the crash joined into this report (one entry when it was never joined).
    # Which submissions they came from is shown to admins only (like ``client``).
    admin = current_admin(request) is not None
    out["sources"] = [
        {**src.to_dict(), **({} if admin else {"submission_id": None})}
        for src in repo.report_sources(report_id)
    ]
    return out


@router.get(
    "/reports/{report_id}/raw",
    response_class=PlainTextResponse,
    summary="The report's input as received (log text, panic URL or QR payload)",
)
def api_get_report_raw(request: Request, report_id: Id) -> PlainTextResponse:
    detail = get_repo(request).get_report(report_id)
    if detail is None:
        raise HTTPException(404, f"no report {report_id}")
    text = detail.original if detail.original is not None else detail.log_text
    if text is None:
        raise HTTPException(410, "this report's text is no longer kept (pruned or scrubbed)")
    return PlainTextResponse(text, headers={"content-disposition": "inline"})


@router.get("/groups", summary="List crash groups (filters, sorting, pagination)")
def api_list_groups(
    request: Request,
    filters: Annotated[Any, Depends(filters_dep)],
    paging: Annotated[Paging, Depends(paging_dep)],
    sort: GroupSortParam = "last_seen",
    order: OrderParam = "desc",
) -> dict[str, Any]:
    page = get_repo(request).list_groups(
        filters,
        sort=sort,
        descending=order == "desc",
        page=paging.page,
        per_page=paging.per_page,
    )
    return page.to_dict()


@router.get("/groups/{group_id}", summary="A group with a page of its reports")
def api_get_group(
    request: Request, group_id: Id, paging: Annotated[Paging, Depends(paging_dep)]
) -> dict[str, Any]:
    detail = get_repo(request).get_group(group_id, page=paging.page, per_page=paging.per_page)
    if detail is None:
        raise HTTPException(404, f"no group {group_id}")
    return for_viewer(request, detail.to_dict())


@router.get("/stats", summary="Counts over time and shares per class, verdict, language…")
def api_stats(
    request: Request,
    filters: Annotated[Any, Depends(filters_dep)],
    bucket: Annotated[Literal["day", "week", "month"], Query()] = "day",
) -> dict[str, Any]:
    return get_repo(request).stats(filters, bucket=bucket).to_dict()


@router.get("/facets/{dim}", summary="Values seen for a filter, most frequent first")
def api_facets(request: Request, dim: str) -> list[dict[str, Any]]:
    from kpanic.errors import KpanicError

    try:
        values = get_repo(request).facet_values(dim[:32])
    except KpanicError as exc:
        raise HTTPException(404, str(exc)) from None
    return [f.to_dict() for f in values]


# ---------------------------------------------------------------------------- admin


@router.delete("/reports/{report_id}", summary="Delete a report (admin)")
def api_delete_report(
    request: Request, report_id: Id, admin: Annotated[Admin, Depends(require_admin)]
) -> dict[str, Any]:
    _admin_csrf(request, admin)
    if not get_repo(request).delete_report(report_id):
        raise HTTPException(404, f"no report {report_id}")
    return {"deleted": report_id}


@router.post("/groups/{group_id}/merge", summary="Merge other groups into this one (admin)")
def api_merge_groups(
    request: Request,
    group_id: Id,
    body: MergeRequest,
    admin: Annotated[Admin, Depends(require_admin)],
) -> dict[str, Any]:
    _admin_csrf(request, admin)
    merged = _admin_call(lambda: get_repo(request).merge_groups(group_id, body.source_ids))
    redirects.record_merge(get_repo(request), group_id, body.source_ids)  # old addresses
    return merged


@router.post("/reports/{report_id}/split", summary="Move a report into a new group (admin)")
def api_split_report(
    request: Request, report_id: Id, admin: Annotated[Admin, Depends(require_admin)]
) -> dict[str, Any]:
    _admin_csrf(request, admin)
    return _admin_call(lambda: get_repo(request).split_report_to_new_group(report_id))


@router.post("/reprocess", summary="Re-parse, re-classify and re-group everything (admin)")
def api_reprocess(request: Request, admin: Annotated[Admin, Depends(require_admin)]) -> Any:
    _admin_csrf(request, admin)
    return _admin_call(lambda: get_repo(request).reprocess())


@router.get("/tokens", summary="List API tokens (admin)")
def api_list_tokens(
    request: Request, admin: Annotated[Admin, Depends(require_admin)]
) -> list[dict[str, Any]]:
    return [t.to_dict() for t in get_repo(request).list_tokens()]


@router.post("/tokens", status_code=201, summary="Create an API token (admin; shown once)")
def api_create_token(
    request: Request, body: TokenRequest, admin: Annotated[Admin, Depends(require_admin)]
) -> dict[str, Any]:
    _admin_csrf(request, admin)
    return get_repo(request).create_token(body.name).to_dict()


@router.delete("/tokens/{token_id}", summary="Revoke an API token (admin)")
def api_revoke_token(
    request: Request, token_id: Id, admin: Annotated[Admin, Depends(require_admin)]
) -> dict[str, Any]:
    _admin_csrf(request, admin)
    if not get_repo(request).revoke_token(token_id):
        raise HTTPException(404, f"no active token {token_id}")
    return {"revoked": token_id}


def _admin_call(fn: Any) -> dict[str, Any]:
    from kpanic.errors import KpanicError
    from kpanic.store.repository import NotFound

    try:
        result = fn()
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except KpanicError as exc:
        raise HTTPException(400, str(exc)) from None
    return result.to_dict()  # type: ignore[no-any-return]
