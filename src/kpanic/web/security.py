"""CSRF protection and admin authentication, both stateless so any server process can check them.

CSRF: double-submit token. Every HTML page sets a random ``kpanic_csrf`` cookie (SameSite=Lax)
and puts the same value in its forms and in a ``<meta>`` tag; a state-changing form or
cookie-authenticated request must echo it (form field ``csrf_token`` or header
``X-CSRF-Token``). Another site can make the browser send the cookie but cannot read it, so it
cannot echo it.

Admins: an API token (``Authorization: Bearer <token>``) checked with the store's
``verify_token``, or a session cookie set after an admin typed a token into the login form. The
cookie holds a session token of its own (HttpOnly, SameSite=Strict), a store token named
``session <parent id> <name>``: logging out revokes it (a copied cookie stops working), it
expires after ``session_max_age_s``, and revoking the parent token ends its sessions. Every
request re-verifies it against the database, so this holds in every process.
"""

from __future__ import annotations

import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from fastapi import HTTPException, Request, Response

CSRF_COOKIE = "kpanic_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
ADMIN_COOKIE = "kpanic_admin"
MAX_TOKEN_CHARS = 256


@dataclass(frozen=True, slots=True)
class Admin:
    """Who is acting as admin: the token's name and how they authenticated."""

    name: str
    via: str  # "bearer" | "session"


def csrf_token_for(request: Request) -> str:
    """The request's CSRF token: the cookie's, or a fresh one (set by :func:`set_csrf_cookie`)."""
    existing = request.cookies.get(CSRF_COOKIE, "")
    if 20 <= len(existing) <= 100 and existing.replace("-", "").replace("_", "").isalnum():
        return existing
    token = getattr(request.state, "new_csrf", None)
    if token is None:
        token = secrets.token_urlsafe(32)
        request.state.new_csrf = token
    return token


def set_csrf_cookie(request: Request, response: Response, secure: bool) -> None:
    """Persist the token handed out by :func:`csrf_token_for` during this request, if new."""
    token = getattr(request.state, "new_csrf", None)
    if token:
        response.set_cookie(
            CSRF_COOKIE, token, httponly=True, samesite="lax", secure=secure, path="/"
        )


def check_csrf(request: Request, submitted: str | None) -> None:
    """Refuse (403) a state-changing request whose token does not match its cookie."""
    cookie = request.cookies.get(CSRF_COOKIE)
    value = submitted or request.headers.get(CSRF_HEADER)
    if not cookie or not value or not hmac.compare_digest(cookie.encode(), value.encode()):
        raise HTTPException(
            status_code=403,
            detail="the form's security token is missing or stale: reload the page and retry",
        )


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()[:MAX_TOKEN_CHARS]


def session_token(request: Request) -> str | None:
    value = request.cookies.get(ADMIN_COOKIE)
    return value[:MAX_TOKEN_CHARS] if value else None


SECRET_FILE = "secret.key"


def installation_secret(configured: str = "", directory: Path | None = None) -> bytes:
    """The per-installation secret that keys the HMAC of client addresses.

    ``configured`` (KPANIC_SECRET_KEY) wins; otherwise ``<data dir>/secret.key`` is read, or
    created with 32 random bytes (mode 0600, exclusive create: concurrent server processes
    agree on the first one written). Several hosts sharing one PostgreSQL need the same
    KPANIC_SECRET_KEY so that they count a client under one key.
    """
    if configured:
        return configured.encode("utf-8")
    if directory is None:
        from kpanic.settings import data_dir

        directory = data_dir()
    path = directory / SECRET_FILE
    try:
        data = path.read_bytes().strip()
        if len(data) >= 32:
            return data
    except FileNotFoundError:
        pass
    directory.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(32).encode()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race (or the file was too short)
        data = path.read_bytes().strip()
        if len(data) >= 32:
            return data
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(value + b"\n")
    return value


SESSION_PREFIX = "session "


def session_name(parent_id: int, parent_name: str) -> str:
    """The store name of a session token made by logging in with token ``parent_id``."""
    return f"{SESSION_PREFIX}{parent_id} {parent_name}"[:128]


def session_parent(name: str) -> tuple[int, str] | None:
    """(parent token id, parent name) of a session token's name; None for other tokens."""
    if not name.startswith(SESSION_PREFIX):
        return None
    pid, _, rest = name[len(SESSION_PREFIX) :].partition(" ")
    return (int(pid), rest) if pid.isdigit() else None
