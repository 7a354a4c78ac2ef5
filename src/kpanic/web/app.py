"""The FastAPI application: crash intake, JSON API and the server-rendered dashboard.

``create_app`` builds one app around one :class:`kpanic.store.repository.Repository`. The app
keeps no state another process needs (rate-limit counters, sessions and CSRF tokens live in the
database or in cookies), so several ``kpanic serve`` processes can share one PostgreSQL.
"""

from __future__ import annotations

import dataclasses
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from kpanic import observe
from kpanic.errors import KpanicError
from kpanic.pipeline.errors import http_status
from kpanic.pipeline.limits import Limits
from kpanic.settings import Settings, get_settings
from kpanic.web.config import WebConfig
from kpanic.web.middleware import install as install_middleware
from kpanic.web.ratelimit import RateLimiter
from kpanic.web.render import render, wants_html
from kpanic.web.requestid import RequestIdMiddleware
from kpanic.web.security import installation_secret

HERE = Path(__file__).resolve().parent
log = logging.getLogger("kpanic.web")


def create_app(
    settings: Settings | None = None,
    config: WebConfig | None = None,
    *,
    migrate: bool = True,
) -> FastAPI:
    """Build the service for ``settings.database_url`` (migrating the schema on start)."""
    from kpanic.store.repository import Repository, upgrade

    settings = settings or get_settings()
    config = config or WebConfig.from_env()
    if migrate:
        upgrade(settings.database_url)
    repo = Repository(settings.database_url, settings=settings)
    limiter = RateLimiter(
        repo.engine, config.rate_limit, config.rate_window_s, installation_secret(config.secret_key)
    )

    limits = Limits.from_settings(
        settings,
        max_photo_pixels=config.max_photo_pixels,
        max_kmsg_bytes=config.max_kmsg_bytes,
        photo_cpu_s=config.photo_cpu_s,
    )
    limits = dataclasses.replace(limits, max_url_chars=config.max_url_chars)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        workers = _start_embedded_workers(settings, limits) if config.embedded_workers else []
        # Everything loaded so far (modules, compiled patterns, tables) lives as long as the
        # process: keep it out of the cyclic collector's walks (Python's gc.freeze advice).
        gc.freeze()
        notifier = _notifier(repo)  # KPANIC_NOTIFY_IN_SERVICE=1: dispatcher thread (triage)
        try:
            yield
        finally:
            if notifier is not None:
                notifier.stop()
            for worker, thread in workers:
                worker.stop.set()
                thread.join(30)
                worker.close()
            repo.close()

    app = FastAPI(
        title="kpanic crash report service",
        version=_version(),
        description=(
            "Intake and browsing of Linux kernel crash reports decoded from drm_panic QR codes, "
            "panic URLs, photos and raw logs. Public intake is rate limited per client; admin "
            "endpoints need `Authorization: Bearer <token>` (create one with "
            "`kpanic token create`)."
        ),
        docs_url=None,  # FastAPI's Swagger UI loads from a CDN; /docs is served offline instead
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.config = config
    app.state.repo = repo
    app.state.limiter = limiter
    app.state.limits = limits

    install_middleware(app, body_limit=settings.max_photo_bytes + 256 * 1024)
    app.add_middleware(RequestIdMiddleware)  # outermost: every answer carries its id
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    from kpanic.web.routes import admin, api, confirm, pages, report, submissions, triage

    app.include_router(triage.router)  # before pages: /groups.atom, /groups/{id}/mail
    app.include_router(api.router)
    app.include_router(submissions.router)
    app.include_router(report.router)
    app.include_router(pages.router)
    app.include_router(admin.router)
    app.include_router(confirm.router)  # the confirm step of destructive admin actions
    _install_error_handlers(app)
    return app


def _notifier(repo: Any) -> Any:
    import os

    if os.environ.get("KPANIC_NOTIFY_IN_SERVICE") != "1":
        return None
    from kpanic.store.dispatcher import Notifier

    return Notifier(repo).start()


def _start_embedded_workers(settings: Settings, limits: Limits) -> list[tuple[Any, Any]]:
    """Workers for both queues as threads of this process (``WebConfig.embedded_workers``:
    tests and single-process use; ``kpanic serve`` runs them as processes)."""
    import threading

    from kpanic.worker import Worker, WorkerConfig

    out = []
    for name in ("text", "photo"):
        cfg = WorkerConfig(
            settings.database_url,
            queue=name,  # type: ignore[arg-type]
            batch=64 if name == "text" else 1,
            limits=limits,
            poll_s=0.01,
        )
        worker = Worker(cfg)
        thread = threading.Thread(target=worker.run, name=f"kpanic-{name}-worker", daemon=True)
        thread.start()
        out.append((worker, thread))
    return out


def _version() -> str:
    import kpanic

    return str(getattr(kpanic, "__version__", "0"))


def _install_error_handlers(app: FastAPI) -> None:
    """Errors as JSON for the API and as a page for browsers; never a stack trace."""

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        headers = getattr(exc, "headers", None)
        if exc.status_code == 429:
            observe.RATE_LIMITED.inc()
        if wants_html(request):
            return render(
                request,
                "error.html",
                {"status": exc.status_code, "message": str(exc.detail)},
                status_code=exc.status_code,
                headers=headers,
            )
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
            problems.append(f"{where}: {err.get('msg', 'invalid')}" if where else err["msg"])
        message = "invalid request: " + "; ".join(problems)
        if wants_html(request):
            return render(
                request, "error.html", {"status": 422, "message": message}, status_code=422
            )
        return JSONResponse({"detail": message}, status_code=422)

    @app.exception_handler(KpanicError)
    async def input_error(request: Request, exc: KpanicError) -> Response:
        # The one mapping of processing failures to HTTP (kpanic.pipeline.errors.STATUS_TABLE).
        status, message = http_status(exc)
        if wants_html(request):
            return render(
                request, "error.html", {"status": status, "message": message}, status_code=status
            )
        return JSONResponse({"detail": message}, status_code=status)

    @app.exception_handler(SQLAlchemyError)
    async def database_error(request: Request, exc: SQLAlchemyError) -> Response:
        log.error("database error on %s %s: %s", request.method, request.url.path, exc)
        observe.DATABASE_ERRORS.inc()
        message = "the database is unavailable or busy; please retry shortly"
        headers = {"Retry-After": "5"}
        if wants_html(request):
            try:
                return render(
                    request,
                    "error.html",
                    {"status": 503, "message": message},
                    status_code=503,
                    headers=headers,
                )
            except Exception:
                log.exception("could not render the error page")
        return JSONResponse({"detail": message}, status_code=503, headers=headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:  # pragma: no cover
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        message = "internal error: the server could not handle this request"
        if wants_html(request):
            try:
                return render(
                    request, "error.html", {"status": 500, "message": message}, status_code=500
                )
            except Exception:  # e.g. the database is down: keep the answer simple
                log.exception("could not render the error page")
        return JSONResponse({"detail": message}, status_code=500)

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse("/groups", status_code=302)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, Any]:
        """Alive (the process answers); says nothing about the database."""
        return {"ok": True}

    @app.get("/readyz", include_in_schema=False)
    async def readyz(request: Request) -> JSONResponse:
        """Ready: database reachable, schema at this version's head, queue lag under
        ``KPANIC_READY_MAX_QUEUE_AGE_S`` (60 s). 503 with the failing checks otherwise."""
        import anyio

        checks = await anyio.to_thread.run_sync(_readiness, request.app.state.repo.engine)
        ok = all(c["ok"] for c in checks.values())
        return JSONResponse({"ok": ok, "checks": checks}, status_code=200 if ok else 503)

    @app.get("/metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        """Prometheus metrics: submissions, queue depth and age, stage times, errors."""
        import anyio
        from prometheus_client import CONTENT_TYPE_LATEST

        body = await anyio.to_thread.run_sync(observe.render_metrics, request.app.state.repo.engine)
        return Response(body, media_type=CONTENT_TYPE_LATEST)


def _readiness(engine: Any) -> dict[str, dict[str, Any]]:
    import os

    from sqlalchemy import text

    from kpanic.store import queue
    from kpanic.store.db import head_revision

    checks: dict[str, dict[str, Any]] = {}
    try:
        with engine.connect() as conn:
            current = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        checks["database"] = {"ok": True}
        head = head_revision()
        checks["migrations"] = {"ok": current == head, "current": current, "head": head}
        bound = float(os.environ.get("KPANIC_READY_MAX_QUEUE_AGE_S") or 60)
        ages = {s.queue: round(s.oldest_age_s, 3) for s in queue.stats(engine)}
        checks["queue"] = {
            "ok": all(a <= bound for a in ages.values()),
            "oldest_age_s": ages,
            "bound_s": bound,
        }
    except Exception as exc:
        checks["database"] = {"ok": False, "error": type(exc).__name__}
    return checks
