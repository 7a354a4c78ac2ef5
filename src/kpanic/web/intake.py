"""Turn a submission (panic URL, QR payload, photo, raw log) into a stored report.

Panic-sized inputs are decoded and analysed on the event loop (cheaper than a thread hop);
photos and big inputs in a worker thread under a wall-clock limit. Every failure becomes an HTTP
error with a message for the person who sent the input (4xx), never a 500; a database problem
is a 503. Duplicate lookups and writes of concurrent requests are batched (web/batching.py).
Storing happens outside the time limit: a commit is never abandoned halfway, and the client is
answered only after the commit (so an acknowledged report is never lost).
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

import anyio
from fastapi import HTTPException, Request
from sqlalchemy.exc import SQLAlchemyError

from kpanic.errors import InputTooLarge, KpanicError, PayloadError, PhotoDecodeError
from kpanic.store.batch import MAX_BATCH
from kpanic.web.batching import coalescer_for
from kpanic.web.deps import get_repo

log = logging.getLogger("kpanic.web.intake")


def check_photo_pixels(data: bytes, max_pixels: int) -> None:
    """Refuse images over ``max_pixels`` from their header, before anything decodes them
    (the decoder's own rule and message: big JPEGs are read at reduced size)."""
    from kpanic.qr.sniff import too_many_pixels

    message = too_many_pixels(data, max_pixels)
    if message is not None:
        raise InputTooLarge(message)


def _prepare(kind: str, data: Any, request: Request, decoded: Any = None) -> Any:
    from kpanic.store import ingest

    settings = request.app.state.settings
    cfg = request.app.state.config
    if kind == "url":
        text = _url_text(data, cfg)
        prepared = ingest.prepare_url(text, settings=settings, decoded=decoded)
    elif kind == "photo":
        if len(data) > settings.max_photo_bytes:
            raise InputTooLarge(
                f"the photo is {len(data)} bytes; the limit is {settings.max_photo_bytes}"
            )
        check_photo_pixels(data, cfg.max_photo_pixels)
        prepared = ingest.prepare_photo(data, settings=settings)
    elif kind == "log":
        prepared = ingest.prepare_log(data, settings=settings)
    else:  # pragma: no cover - routes only pass the three kinds
        raise KpanicError(f"unknown input kind {kind!r}")
    text = prepared.kmsg if prepared.kmsg is not None else ""
    if len(text) > cfg.max_kmsg_bytes:
        raise InputTooLarge(
            f"the decoded kernel log is {len(text)} characters; the limit is {cfg.max_kmsg_bytes}"
        )
    return prepared


def error_for(exc: BaseException) -> HTTPException:
    """The HTTP error a processing failure becomes (status and a clear message)."""
    from kpanic.store.ingest import NoCrashFound

    if isinstance(exc, InputTooLarge):
        return HTTPException(413, str(exc))
    if isinstance(exc, PhotoDecodeError):
        from kpanic.qr.image.advice import advice_text  # what the person can do about it

        why = str(exc).rstrip(".")
        return HTTPException(
            422, f"the photo could not be read ({exc.reason}): {why}. " + advice_text(exc.reason)
        )
    if isinstance(exc, PayloadError):
        return HTTPException(422, f"the panic URL could not be decoded: {exc}")
    if isinstance(exc, NoCrashFound):
        return HTTPException(422, str(exc))
    if isinstance(exc, KpanicError):
        return HTTPException(400, str(exc))
    return HTTPException(422, f"this input could not be processed ({type(exc).__name__})")


def _limiter(request: Request, name: str, tokens: int) -> anyio.CapacityLimiter:
    """A per-process FIFO limiter, made on first use inside the event loop.

    CPU-bound analysis holds the GIL: running many at once only interleaves them, so each
    waits for all. Two at a time (one per core, decoders release the GIL) keeps throughput
    and lets requests finish in arrival order.
    """
    limiter = getattr(request.app.state, name, None)
    if limiter is None:
        limiter = anyio.CapacityLimiter(tokens)
        setattr(request.app.state, name, limiter)
    return limiter


def _url_text(data: Any, cfg: Any) -> str:
    text = str(data).strip()
    if len(text) > cfg.max_url_chars:
        raise InputTooLarge(
            f"the panic URL is {len(text)} characters; the limit is {cfg.max_url_chars}"
        )
    return text


async def prepare(request: Request, kind: str, data: Any) -> Any:
    """Decode, parse and classify under the processing time limit (PreparedReport)."""
    return await _in_worker(request, kind, partial(_prepare, kind, data, request))


async def _in_worker(request: Request, kind: str, work: Any) -> Any:
    """Run ``work`` in a worker thread (FIFO, two at a time) under the processing time limit;
    a failure becomes an HTTP error with a clear message."""
    limit = request.app.state.config.processing_timeout_s
    try:
        with anyio.fail_after(limit):
            return await anyio.to_thread.run_sync(
                work, abandon_on_cancel=True, limiter=_limiter(request, "cpu_limiter", 2)
            )
    except TimeoutError:
        raise HTTPException(
            422, f"processing this input took longer than the limit of {limit:g} s"
        ) from None
    except Exception as exc:
        raise _http_error(kind, exc) from None


def _http_error(kind: str, exc: Exception) -> Exception:
    """What a processing failure is raised as: HTTP and database errors as they are (a database
    problem is the service's, answered 503, not the input's), others as a clear 4xx."""
    if isinstance(exc, HTTPException | SQLAlchemyError):
        return exc
    if not isinstance(exc, KpanicError):
        log.exception("unexpected error while processing a %s submission", kind)
    return error_for(exc)


# Inputs this small are decoded and analysed on the event loop: for a panic-sized kmsg (a few
# KB) the analysis costs about a millisecond, less than handing it to a worker thread and back
# (GIL handoffs), and it is bounded (linear parser, capped sizes). Bigger ones, photos and
# uploaded bytes go to a worker thread under the processing time limit.
INLINE_CHARS = 64 * 1024


async def _stored(request: Request, digest: str) -> dict[str, Any] | None:
    """The stored report with this content hash, found without parsing (repeated submissions
    of one crash cost a decode and a share of one batched indexed lookup)."""
    repo = get_repo(request)
    lookup = coalescer_for(request.app.state, "lookup_batcher", repo.reports_by_hash, MAX_BATCH)
    row = await lookup.submit(digest)
    if row is None:
        return None
    return _describe(
        request,
        {
            "report_id": row.id,
            "group_id": row.group_id,
            "is_new": False,
            "group_is_new": False,
            "title": row.title,
            "bug_class": row.bug_class,
            "rust_prevents": row.rust_prevents,
            "signature": row.signature,
            "language": row.language,
            "kernel": row.kernel,
            "arch": row.arch,
        },
    )


def _inline(kind: str, work: Any) -> Any:
    """Run ``work`` on the event loop; a failure becomes an HTTP error (as in _in_worker)."""
    try:
        return work()
    except Exception as exc:
        raise _http_error(kind, exc) from None


def _describe(request: Request, out: dict[str, Any]) -> dict[str, Any]:
    # Plain formatting: url_for walks every route and costs more than the lookup itself.
    root = request.scope.get("root_path", "")
    out["id"] = out["report_id"]
    out["report_url"] = f"{root}/reports/{int(out['report_id'])}"
    gid = out["group_id"]
    out["group_url"] = f"{root}/groups/{int(gid)}" if gid is not None else None
    return out


async def submit(request: Request, kind: str, data: Any, via: str) -> dict[str, Any]:
    """Store one submission (or find it already stored) and describe the result."""
    from kpanic.store.ingest import content_hash

    cfg = request.app.state.config
    small = isinstance(data, str) and len(data) <= INLINE_CHARS
    if kind == "url" and small:
        from kpanic.qr.url import decode_payload

        decoded = _inline(
            kind,
            lambda: decode_payload(_url_text(data, cfg), max_kmsg_bytes=cfg.max_kmsg_bytes),
        )
        kmsg: str | None = decoded.kmsg
    elif kind == "log" and small:
        decoded, kmsg = None, data
    else:  # photos, uploads, big inputs: all of it in a worker thread; the writer dedups
        return await store(request, await prepare(request, kind, data), via)
    known = await _stored(request, content_hash(kmsg or ""))
    if known is not None:
        return known
    if len(kmsg or "") <= INLINE_CHARS:
        prepared = _inline(kind, lambda: _prepare(kind, data, request, decoded))
    else:
        prepared = await _in_worker(request, kind, partial(_prepare, kind, data, request, decoded))
    return await store(request, prepared, via)


async def store(request: Request, prepared: Any, via: str) -> dict[str, Any]:
    """Commit the report, then describe it (ids, links, verdict) for the response."""
    from kpanic.store.views import ClientInfo

    # Nothing about the submitter is stored with the report (docs/privacy.md): only the
    # route and, for admins, the token's name. Addresses live in the rate limiter, keyed.
    client = ClientInfo(
        via=via, token_name=getattr(getattr(request.state, "admin", None), "name", None)
    )
    from kpanic.store.batch import Pending

    repo = get_repo(request)
    writer = coalescer_for(
        request.app.state, "group_writer", repo.store_many, MAX_BATCH, split_on_error=True
    )
    result = await writer.submit(Pending(prepared, client))
    out = _describe(request, result.to_dict())
    out["language"] = prepared.language
    out["kernel"] = prepared.kernel
    out["arch"] = prepared.arch
    return out
