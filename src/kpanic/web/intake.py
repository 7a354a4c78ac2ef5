"""The intake edge: accept a submission durably, answer at once, and (when asked) wait.

One submission, top to bottom:

1. :func:`submit` builds a frozen :class:`~kpanic.pipeline.submission.Submission` (kind, data,
   origin: the rate-limit key, user agent, token name, request id).
2. A repeat of an input already analysed is answered from its finished queue row (one batched
   indexed lookup by the input's hash): 200 with the report, nothing queued.
3. Otherwise the raw submission is stored in the queue (:func:`kpanic.store.queue.enqueue_many`,
   group commit: concurrent requests share one small transaction). After the commit the
   submission is acknowledged: 202 with a status URL.
4. Workers (``kpanic worker``, started by ``kpanic serve``) decode, scrub, parse, classify and
   group it (:mod:`kpanic.worker`). With ``wait`` (``?wait=N`` on the API, a short wait on the
   browser forms) the request polls its submission's state (batched) for up to N seconds and
   answers with the analysis (201/200, or the input's 4xx) when it is ready.

No decoding or analysis runs in the web process's event loop. Database errors propagate (the
app answers 503); processing errors are the workers' and come back in the submission's state.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
import time
import uuid
from functools import partial
from typing import Any

import anyio
from fastapi import HTTPException, Request
from fastapi.responses import RedirectResponse

from kpanic.pipeline.result import SubmitResult
from kpanic.pipeline.submission import Origin, Submission, SubmissionKind
from kpanic.store import queue
from kpanic.store.batch import MAX_BATCH
from kpanic.web.batching import coalescer_for
from kpanic.web.deps import client_address, get_repo
from kpanic.web.ratelimit import client_key

MAX_WAIT_S = 30.0  # the longest ?wait= a client may ask for


MACHINE_HEADER = "x-kpanic-machine"
_MACHINE_ID = re.compile(r"[0-9a-fA-F]{32}")


def machine_key(request: Request, given: str | None = None) -> str | None:
    """The sender's machine, pseudonymous twice: the client sends an app-specific id (never
    /etc/machine-id itself), and only ``HMAC(installation secret, id)`` is stored. From the
    JSON body's ``machine`` or the ``X-Kpanic-Machine`` header; a malformed one is a 422."""
    value = given if given is not None else request.headers.get(MACHINE_HEADER)
    if value is None or value == "":
        return None
    if not _MACHINE_ID.fullmatch(value):
        raise HTTPException(422, "machine: expected 32 hexadecimal digits (an app-specific id)")
    secret = request.app.state.limiter.secret
    return hmac.new(secret, b"machine\0" + value.lower().encode(), hashlib.sha256).hexdigest()[:32]


def origin_of(request: Request, via: str, *, machine: str | None = None) -> Origin:
    """Who sent this request, as stored with the submission: no raw address and no user agent
    (docs/privacy.md), only the rate limiter's keyed hash of the address, which per-submitter
    retention quotas need, and the keyed machine hash when the client sent a machine id."""
    return Origin(
        via=via,
        client=client_key(client_address(request), request.app.state.limiter.secret),
        user_agent=None,
        token_name=getattr(getattr(request.state, "admin", None), "name", None),
        request_id=request_id(request),
        machine=machine_key(request, machine),
    )


def request_id(request: Request) -> str:
    """The request's id (set by the request-id middleware, else made here)."""
    rid = getattr(request.state, "request_id", None)
    if not rid:
        rid = uuid.uuid4().hex[:16]
        request.state.request_id = rid
    return str(rid)


def _urls(request: Request, submission_id: int | None, state: queue.State | None) -> dict[str, Any]:
    # Plain formatting: url_for walks every route and costs more than the lookup itself.
    root = request.scope.get("root_path", "")
    out: dict[str, Any] = {
        "status_url": f"{root}/api/v1/submissions/{submission_id}" if submission_id else None
    }
    if state is not None and state.report_id is not None:
        out["report_url"] = f"{root}/reports/{int(state.report_id)}"
        gid = (state.report or {}).get("group_id")
        out["group_url"] = f"{root}/groups/{int(gid)}" if gid is not None else None
    return out


def result_of(request: Request, state: queue.State, *, repeat: bool = False) -> SubmitResult:
    """A submission's state as the one result type (``repeat``: answered from an earlier
    submission of the same input, so nothing is new)."""
    report = state.report or {}
    status = state.status
    if status == "done" and state.report_id is None:  # its report was deleted since
        status = "failed"
    return SubmitResult(
        submission_id=state.id,
        status=status,  # type: ignore[arg-type]
        id=state.report_id,
        report_id=state.report_id,
        is_new=bool(state.is_new) and not repeat,
        group_is_new=bool(state.group_is_new) and not repeat,
        error_status=state.error_status,
        error=state.error if status in ("rejected", "failed") else None,
        joined_report_id=state.report_id if state.joined else None,
        joined_as=state.joined,
        **{k: report.get(k) for k in queue.REPORT_FIELDS},
        **_urls(request, state.id, state),
    )


def _repo_engine(request: Request) -> Any:
    return get_repo(request).engine


async def _states(request: Request, ids: list[int]) -> list[queue.State | None]:
    lookup = coalescer_for(
        request.app.state,
        "state_lookup",
        partial(queue.states, _repo_engine(request)),
        MAX_BATCH,
        key=("states", id(get_repo(request))),
    )
    return [await lookup.submit(i) for i in ids]


async def state(request: Request, submission_id: int) -> queue.State | None:
    return (await _states(request, [submission_id]))[0]


async def wait_for(request: Request, submission_id: int, seconds: float) -> queue.State | None:
    """The submission's state once finished, or its latest state after ``seconds``."""
    deadline = time.monotonic() + min(max(seconds, 0.0), MAX_WAIT_S)
    pause = 0.005
    current = await state(request, submission_id)
    while current is not None and current.status not in queue.FINISHED:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        await asyncio.sleep(min(pause, left))
        pause = min(pause * 2, 0.05)
        current = await state(request, submission_id)
    return current


async def submit(
    request: Request,
    kind: SubmissionKind,
    data: str | bytes,
    via: str,
    *,
    wait: float = 0.0,
    machine: str | None = None,
) -> SubmitResult:
    """Accept one submission (or find the same input already analysed); with ``wait``, wait
    up to that many seconds for its analysis."""
    request.app.state.limits.check_input_size(kind, data)  # bytes at the edge: never queued
    sub = Submission(kind, data, origin_of(request, via, machine=machine))
    engine = _repo_engine(request)
    key = id(get_repo(request))
    lookup = coalescer_for(
        request.app.state,
        "repeat_lookup",
        partial(queue.done_by_raw_hash, engine),
        MAX_BATCH,
        key=("repeat", key),
    )
    earlier = await lookup.submit(sub.raw_hash())
    if earlier is not None:
        known = await state(request, earlier)
        if known is not None and known.report_id is not None:
            return result_of(request, known, repeat=True)
    writer = coalescer_for(
        request.app.state,
        "queue_writer",
        partial(queue.enqueue_many, engine),
        MAX_BATCH,
        split_on_error=True,
        key=("enqueue", key),
    )
    accepted: queue.Accepted = await writer.submit(sub)
    if wait > 0:
        current = await wait_for(request, accepted.id, wait)
        if current is not None:
            return result_of(request, current)
    return SubmitResult(
        submission_id=accepted.id, status="queued", **_urls(request, accepted.id, None)
    )


def raise_for(result: SubmitResult) -> SubmitResult:
    """Raise the HTTP error of a rejected or failed submission (else return it)."""
    if result.status in ("rejected", "failed"):
        raise HTTPException(result.http_status, result.error or "the submission failed")
    return result


def redirect(result: SubmitResult) -> RedirectResponse:
    """Where a browser goes after submitting: the report, or the page that waits for it."""
    raise_for(result)
    if result.status == "done" and result.report_url:
        flag = "new" if result.is_new else "joined" if result.joined_report_id else "duplicate"
        return RedirectResponse(f"{result.report_url}?submitted={flag}", status_code=303)
    return RedirectResponse(f"/submissions/{result.submission_id}", status_code=303)


async def prepare(request: Request, kind: SubmissionKind, data: str) -> Any:
    """Decode and analyse without storing (the panic URL preview page), in a worker thread
    under the processing time limit; errors are KpanicErrors (mapped by the app)."""
    from kpanic.pipeline import stages
    from kpanic.pipeline.errors import ProcessingLimit

    limits = request.app.state.limits
    sub = Submission(kind, data, Origin(via="web"))
    timeout = request.app.state.config.processing_timeout_s
    try:
        with anyio.fail_after(timeout):
            return await anyio.to_thread.run_sync(
                stages.prepare, sub, limits, abandon_on_cancel=True
            )
    except TimeoutError:
        raise ProcessingLimit(
            f"processing this input took longer than the limit of {timeout:g} s"
        ) from None
