"""Request-scoped helpers shared by the routes: repository, admin check, client, filters."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from fastapi import HTTPException, Request

from kpanic.web.security import Admin, bearer_token, session_token
from kpanic.web.triage_params import triage_filters, triage_params

if TYPE_CHECKING:
    from kpanic.store.repository import Filters, Repository

_UNSET = object()


def get_repo(request: Request) -> Repository:
    return request.app.state.repo  # type: ignore[no-any-return]


def current_admin(request: Request) -> Admin | None:
    """The admin behind this request (Bearer token or session cookie), cached per request."""
    cached = getattr(request.state, "admin", _UNSET)
    if cached is not _UNSET:
        return cached  # type: ignore[return-value]
    admin: Admin | None = None
    repo = get_repo(request)
    token = bearer_token(request)
    if token is not None:
        info = repo.verify_token(token)
        if info is None:
            request.state.admin = None  # the error page renders as a visitor
            raise HTTPException(
                401, "the API token is invalid or revoked", {"WWW-Authenticate": "Bearer"}
            )
        admin = Admin(info.name or info.prefix, "bearer")
    else:
        token = session_token(request)
        if token:
            info = repo.verify_token(token)
            if info is not None:
                admin = Admin(info.name or info.prefix, "session")
    request.state.admin = admin
    return admin


def require_admin(request: Request) -> Admin:
    """Dependency for admin endpoints: 401 without a valid token or admin session."""
    admin = current_admin(request)
    if admin is None:
        raise HTTPException(
            401,
            "this action needs an admin: send 'Authorization: Bearer <token>' or log in",
            {"WWW-Authenticate": "Bearer"},
        )
    return admin


def client_address(request: Request) -> str:
    """The client's address (the first X-Forwarded-For hop only behind a trusted proxy)."""
    if request.app.state.config.trust_forwarded_for:
        forwarded = request.headers.get("x-forwarded-for", "")
        first = forwarded.split(",")[0].strip()
        if first:
            return first[:64]
    return request.client.host if request.client else "unknown"


async def rate_limited(request: Request) -> None:
    """:func:`enforce_rate_limit` off the event loop (skipped outright when it is disabled)."""
    import anyio

    if request.app.state.limiter.limit > 0:
        await anyio.to_thread.run_sync(enforce_rate_limit, request)


def enforce_rate_limit(request: Request) -> None:
    """429 with Retry-After when this client is over its public-intake budget (admins skip)."""
    if bearer_token(request) is not None and current_admin(request) is not None:
        return
    verdict = request.app.state.limiter.hit(client_address(request))
    if not verdict.allowed:
        raise HTTPException(
            429,
            f"too many submissions from your address: at most "
            f"{request.app.state.limiter.limit} per {request.app.state.limiter.window_s} s; "
            f"retry in {verdict.retry_after} s",
            {"Retry-After": str(verdict.retry_after)},
        )


def parse_day(value: str | None, field: str) -> dt.datetime | None:
    """A YYYY-MM-DD (or ISO datetime) filter value as a UTC datetime; 422 when malformed."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        raise HTTPException(
            422, f"{field}: expected a date like 2025-06-30, not {text[:40]!r}"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed


def make_filters(
    *,
    bug_class: str | None = None,
    rust_prevents: str | None = None,
    language: str | None = None,
    kernel: str | None = None,
    arch: str | None = None,
    distro: str | None = None,
    since: str | None = None,
    until: str | None = None,
    q: str | None = None,
    **triage: Any,
) -> Filters:
    from kpanic.store.repository import Filters

    def clean(value: str | None, limit: int = 128) -> str | None:
        if value is None:
            return None
        value = value.strip()
        return value[:limit] or None

    return Filters(
        bug_class=clean(bug_class),
        rust_prevents=clean(rust_prevents),
        language=clean(language),
        kernel=clean(kernel),
        arch=clean(arch),
        distro=clean(distro),
        since=parse_day(since, "since"),
        until=parse_day(until, "until"),
        q=clean(q, 200),
        **triage_filters(**triage),
    )


def filter_params(filters: Filters) -> dict[str, Any]:
    """The filters back as query parameters (for links that keep them)."""
    out: dict[str, Any] = {}
    for name in ("bug_class", "rust_prevents", "language", "kernel", "arch", "distro", "q"):
        value = getattr(filters, name)
        if value:
            out[name] = value
    for name in ("since", "until"):
        value = getattr(filters, name)
        if value is not None:
            out[name] = value.date().isoformat()
    out.update(triage_params(filters))
    return out
