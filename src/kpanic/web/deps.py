"""Request-scoped helpers shared by the routes: repository, admin check, client, filters."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from fastapi import HTTPException, Request

from kpanic.web.security import Admin, bearer_token, session_parent, session_token
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
                admin = _session_admin(request, info)
    request.state.admin = admin
    return admin


def _session_admin(request: Request, info: Any) -> Admin | None:
    """The admin of a login session, or None once it expired or its parent token was revoked
    (then the session token is revoked too). Cookies from before session tokens hold an API
    token itself: still accepted, as before."""
    parent = session_parent(info.name)
    if parent is None:
        return Admin(info.name or info.prefix, "session")
    repo = get_repo(request)
    max_age = request.app.state.config.session_max_age_s
    age = (dt.datetime.now(dt.UTC) - info.created_at).total_seconds()
    parent_ok = any(t.id == parent[0] and not t.revoked for t in repo.list_tokens())
    if age > max_age or not parent_ok:
        repo.revoke_token(info.id)
        return None
    return Admin(parent[1] or info.prefix, "session")


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
    """The client's address: the peer, or behind trusted proxies the address the nearest
    trusted proxy put into X-Forwarded-For (see :func:`forwarded_client`)."""
    peer = request.client.host if request.client else "unknown"
    cfg = request.app.state.config
    if not cfg.trust_forwarded_for:
        return peer
    return forwarded_client(
        peer,
        request.headers.getlist("x-forwarded-for"),
        hops=cfg.trusted_proxy_hops,
        proxies=cfg.trusted_proxies,
    )


def forwarded_client(
    peer: str, headers: list[str], *, hops: int = 0, proxies: tuple[str, ...] = ()
) -> str:
    """The client address in front of the trusted proxies (the ProxyFix rule).

    Every proxy appends the address it received the request from, so only the rightmost
    entries were written by proxies; everything to their left may be the client's invention.
    With ``proxies`` (addresses or networks) the peer must be one of them, and the header is
    walked from the right past every trusted address: the first untrusted one is the client.
    With ``hops`` the entry ``hops`` places from the right is the client (the address the
    outermost of ``hops`` proxies saw). A header shorter than that, or entries that are not
    addresses, leave the peer as the client: nothing the client sent is ever taken.
    """
    entries = [e.strip() for h in headers for e in h.split(",")]
    entries = [e for e in entries if e]
    if proxies:
        networks = _networks(proxies)
        if not _in(peer, networks):
            return peer
        for entry in reversed(entries[-64:]):
            address = _address(entry)
            if address is None:
                return peer
            if not _in(address, networks):
                return address
        return peer
    if hops <= 0 or len(entries) < hops:
        return peer
    return _address(entries[-hops]) or peer


def _address(entry: str) -> str | None:
    """An X-Forwarded-For entry as a normalised IP address (None if it is not one)."""
    import ipaddress

    text = entry.strip()
    if text.startswith("[") and "]" in text:  # [v6]:port
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # v4:port
        text = text.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def _networks(proxies: tuple[str, ...]) -> list[Any]:
    import ipaddress

    out = []
    for item in proxies:
        try:
            out.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            continue
    return out


def _in(address: str, networks: list[Any]) -> bool:
    import ipaddress

    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip.version == n.version and ip in n for n in networks)


async def rate_limited(request: Request) -> None:
    """:func:`enforce_rate_limit` off the event loop (skipped outright when it is disabled),
    once per request: the early check (middleware, before the body is read) marks it done."""
    import anyio

    if getattr(request.state, "rate_counted", False):
        return
    request.state.rate_counted = True
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


def for_viewer(request: Request, data: dict[str, Any]) -> dict[str, Any]:
    """A report (or a group with its representative report) as this viewer may see it: who
    submitted it (``client``: route, token name, and on reports stored by older versions a
    hashed address and user agent) is shown to admins only."""
    if current_admin(request) is not None:
        return data
    if "client" in data:
        data["client"] = None
    rep = data.get("representative")
    if isinstance(rep, dict) and "client" in rep:
        rep["client"] = None
    return data


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
