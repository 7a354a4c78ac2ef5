"""Template rendering with the context every page needs (CSRF token, admin flag, version)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from kpanic.web.security import csrf_token_for, set_csrf_cookie

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).resolve().parent / "templates"))
# Jinja2Templates autoescapes .html templates; make it explicit for every template name.
TEMPLATES.env.autoescape = True


def _query(params: dict[str, Any], **changes: Any) -> str:
    """A query string from ``params`` with ``changes`` applied; empty values are dropped."""
    merged = {**params, **changes}
    return urlencode({k: v for k, v in merged.items() if v not in (None, "")})


TEMPLATES.env.globals["query"] = _query


def wants_html(request: Request) -> bool:
    """True for browser page requests (errors are then pages, not JSON)."""
    if request.url.path.startswith("/api/"):
        return False
    accept = request.headers.get("accept", "")
    return "text/html" in accept or not accept or request.method == "POST"


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Render ``name`` with the common context and set the CSRF cookie when it is new."""
    from kpanic import __version__
    from kpanic.web.deps import current_admin

    ctx: dict[str, Any] = {
        "csrf_token": csrf_token_for(request),
        "is_admin": current_admin(request) is not None,
        "version": __version__,
        "nav": "",
    }
    ctx.update(context or {})
    response = TEMPLATES.TemplateResponse(
        request, name, ctx, status_code=status_code, headers=headers
    )
    response.headers.setdefault("cache-control", "no-store")
    set_csrf_cookie(request, response, request.app.state.config.secure_cookies)
    return response
