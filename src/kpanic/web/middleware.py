"""ASGI middleware: security headers, request guards, cross-site refusal, early rate limit,
request body size limit.

All are plain ASGI (not ``BaseHTTPMiddleware``) so the body limit also cuts chunked uploads
that announce no Content-Length, without buffering them first, and so the rate limit and the
cross-site check answer before any body is read. :func:`install` adds them in their order.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote_to_bytes, urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from fastapi import FastAPI

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


class BodyLimitMiddleware:
    """Answer 413 to any request whose body is, or turns out to be, over ``limit`` bytes."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await _reply(send, 400, "invalid Content-Length header")
                    return
                if declared > self.limit:
                    await _reply(send, 413, self._message(declared))
                    return
        seen = 0
        started = False
        refused = False

        async def limited_receive() -> Message:
            nonlocal seen, refused, started
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    # Answer now and make the app see a disconnect: whatever it does with
                    # the broken body (some frameworks turn it into a 400) is discarded.
                    refused = True
                    if not started:
                        started = True
                        await _reply(send, 413, self._message(seen))
                    return {"type": "http.disconnect"}
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if refused:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, limited_receive, tracking_send)

    def _message(self, size: int) -> str:
        return f"the request body is over the limit of {self.limit} bytes ({size}+ bytes sent)"


async def _reply(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
                *SECURITY_HEADERS,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class SecurityHeadersMiddleware:
    """Strict CSP (no inline script or style), nosniff, no framing, no referrer leaks."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers: list[Any] = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(k, v) for k, v in SECURITY_HEADERS if k not in present]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


def install(app: FastAPI, body_limit: int) -> None:
    """Add the middleware in order (the last added runs first): security headers outermost, so
    every answer carries them (413, 429, redirects and errors included); then the guards; the
    rate limit and the cross-site check before the body limit and before any body is read."""
    app.router.redirect_slashes = False  # Starlette's redirect copies Host into Location
    app.add_middleware(BodyLimitMiddleware, limit=body_limit)
    app.add_middleware(EarlyRateLimitMiddleware)
    app.add_middleware(CrossSiteMiddleware)
    app.add_middleware(RequestGuardMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)


async def _http_error(scope: Scope, receive: Receive, send: Send, exc: Any) -> None:
    """Answer ``exc`` (an HTTPException) with the app's own error handler (page or JSON)."""
    from fastapi import Request
    from starlette.exceptions import HTTPException

    app = scope["app"]
    handler = app.exception_handlers.get(HTTPException) if app else None
    request = Request({**scope, "router": app.router}, receive)
    if handler is None:  # pragma: no cover - create_app always installs one
        await _reply(send, exc.status_code, str(exc.detail))
        return
    response = await handler(request, exc)
    await response(scope, receive, send)


class RequestGuardMiddleware:
    """Refuse what no route can use and what databases choke on, before any route runs:
    a NUL byte in the path or query (PostgreSQL cannot store or compare it: 422, not a database
    error); and redirect ``/path/`` to ``/path`` with a relative Location (never built from the
    client's Host header, never ``//host``)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        from fastapi import HTTPException

        path: str = scope.get("path", "")
        query: bytes = scope.get("query_string", b"")
        if "\x00" in path or b"\x00" in unquote_to_bytes(query):
            exc = HTTPException(422, "invalid request: a NUL character is not allowed here")
            await _http_error(scope, receive, send, exc)
            return
        if path.endswith("/") and path.strip("/\\") and scope.get("method") in ("GET", "HEAD"):
            target = "/" + quote(path.strip("/\\"), safe="/-._~!$&'()*+,;=:@")
            if query:
                target += "?" + query.decode("latin-1")
            await send(
                {
                    "type": "http.response.start",
                    "status": 307,
                    "headers": [(b"location", target.encode("latin-1")), (b"content-length", b"0")],
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return
        await self.app(scope, receive, send)


UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def cross_site_refusal(
    method: str, headers: dict[str, str], host: str, allowed: tuple[str, ...]
) -> str | None:
    """Why a state-changing request must be refused as cross-site (None: accept it).

    Browsers say where a request comes from (``Sec-Fetch-Site``, and ``Origin`` on posts); a
    page on another site can make its visitors post forms and simple fetches to any URL, but
    cannot forge these headers. Clients that send neither (curl, scripts, the CLI: no cookies,
    no ambient authority) are accepted, so the JSON API keeps working for them.
    """
    if method not in UNSAFE_METHODS:
        return None
    origin = headers.get("origin")
    if origin and origin.rstrip("/") in allowed:
        return None
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site is not None:
        if fetch_site in ("same-origin", "none"):
            return None
        return f"Sec-Fetch-Site: {fetch_site[:20]}"
    if origin is None:
        return None
    if origin == "null":
        return "Origin: null"
    parts = urlsplit(origin)
    if parts.netloc and parts.netloc.lower() == host.lower():
        return None
    return f"Origin: {origin[:100]}"


class CrossSiteMiddleware:
    """403 for posts another website made a visitor's browser send (see
    :func:`cross_site_refusal`): those would arrive from the visitor's address and so get
    around the per-client rate limit, and would store whatever the other site chose."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") not in UNSAFE_METHODS:
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        allowed = tuple(o.rstrip("/") for o in scope["app"].state.config.allowed_origins)
        why = cross_site_refusal(scope["method"], headers, headers.get("host", ""), allowed)
        if why is None:
            await self.app(scope, receive, send)
            return
        from fastapi import HTTPException

        exc = HTTPException(
            403, f"cross-site submissions are not accepted ({why}): submit on this site itself"
        )
        await _http_error(scope, receive, send, exc)


# The public intake routes: (method, path, query parameter that makes a GET an intake or None).
RATE_LIMITED_ROUTES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("POST", "/api/v1/reports", ()),
    ("POST", "/api/v1/reports/photo", ()),
    ("POST", "/api/v1/reports/log", ()),
    ("POST", "/submit", ()),
    ("POST", "/report", ()),
    ("GET", "/report", ("z", "zl")),
)


def is_rate_limited_route(method: str, path: str, query: bytes) -> bool:
    from urllib.parse import parse_qsl

    for m, p, params in RATE_LIMITED_ROUTES:
        if method == m and path == p:
            if not params:
                return True
            names = {k for k, _ in parse_qsl(query.decode("latin-1"), keep_blank_values=True)}
            return bool(names & set(params))
    return False


class EarlyRateLimitMiddleware:
    """Count an intake request against its client's budget before the body is read: a client
    over its limit costs a database upsert, not a 25 MB upload and a multipart parse. The
    routes' own check (``deps.rate_limited``) then sees the request as counted."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_rate_limited_route(
            scope.get("method", ""), scope.get("path", ""), scope.get("query_string", b"")
        ):
            await self.app(scope, receive, send)
            return
        from fastapi import HTTPException, Request

        from kpanic.web.deps import rate_limited

        request = Request(scope, receive)
        try:
            await rate_limited(request)
        except HTTPException as exc:
            await _http_error(scope, receive, send, exc)
            return
        await self.app(scope, receive, send)
