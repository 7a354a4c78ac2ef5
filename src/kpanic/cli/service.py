"""`kpanic serve` (the crash report service), `kpanic worker` (analysis of queued submissions)
and `kpanic demo` (the service with example data).

`kpanic serve` runs the web processes (uvicorn) and, unless ``--workers-external``, the
analysis workers as child processes (``--text-workers`` for logs and URLs, one photo worker)
and the notification dispatcher (``kpanic notify run``, unless ``--no-notify``);
it restarts a worker that dies and stops them all (SIGTERM, they drain) when it stops.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from typing import Any

from kpanic.errors import KpanicError


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add `serve` and `demo` to the `kpanic` parser."""
    p = sub.add_parser(
        "serve",
        help="run the crash report web service (intake, API, dashboard)",
        description="Run the crash report service. The database schema is migrated on start.",
    )
    _server_options(p)
    p.add_argument(
        "--demo",
        action="store_true",
        help="fill the database with example crashes first (only when it holds no report)",
    )
    p.set_defaults(handler=_serve)

    p = sub.add_parser(
        "worker",
        help="analyse queued submissions (run any number, on any host, against one database)",
        description=(
            "Take queued submissions in batches, decode, scrub, parse, classify and store them. "
            "SIGTERM finishes the batch in hand and exits. `kpanic serve` starts its own "
            "workers; run this for more, or with `kpanic serve --workers-external`."
        ),
    )
    p.add_argument("--db", metavar="URL", help="database URL (as for serve)")
    p.add_argument("--queue", choices=("text", "photo"), default="text", help="which queue (text)")
    p.add_argument(
        "--log-level",
        default="info",
        choices=("critical", "error", "warning", "info", "debug"),
        help="log level of the worker (info)",
    )
    p.add_argument(
        "--metrics-port",
        type=int,
        default=0,
        help="serve this worker's Prometheus metrics on 127.0.0.1:PORT (a worker on its own "
        "host; under `kpanic serve` the web's /metrics includes the workers)",
    )
    p.set_defaults(handler=_worker)

    p = sub.add_parser(
        "demo",
        help="start the service on a demo database filled with example crashes",
        description=(
            "Fill a demo database (default: demo.db in the kpanic data directory, separate "
            "from the real one) with example crashes that kpanic encodes as panic QR URLs and "
            "photos and decodes again, then serve the dashboard."
        ),
    )
    _server_options(p)
    p.add_argument(
        "--no-serve", action="store_true", help="only fill the database, do not start the server"
    )
    p.set_defaults(handler=_demo)


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a TCP port (1-65535)")
    return port


def _server_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    p.add_argument("--port", type=_port, default=8000, help="TCP port, 1-65535 (8000)")
    p.add_argument(
        "--db",
        metavar="URL",
        help="database URL (default: KPANIC_DATABASE_URL or "
        "SQLite in the data directory); postgresql://user@host/db for PostgreSQL",
    )
    p.add_argument("--workers", type=int, default=1, help="web server processes (1)")
    p.add_argument(
        "--text-workers",
        type=int,
        default=1,
        help="analysis worker processes for logs and URLs (1); photos get one of their own",
    )
    p.add_argument(
        "--workers-external",
        action="store_true",
        help="start no analysis workers and no notification dispatcher (they run elsewhere: "
        "`kpanic worker`, `kpanic notify run`)",
    )
    p.add_argument(
        "--no-notify",
        action="store_true",
        help="start no notification dispatcher (webhooks, mail); `kpanic notify run` elsewhere",
    )
    p.add_argument(
        "--log-level",
        default="info",
        choices=("critical", "error", "warning", "info", "debug"),
        help="uvicorn log level",
    )
    # Server limits (SECURITY.md's table): each option sets its KPANIC_* variable so that
    # every worker process reads the same value.
    for flag, env, kind, what in SERVER_LIMIT_OPTIONS:
        p.add_argument(flag, type=kind, metavar="N", help=f"{what} (env {env})")
    p.add_argument(
        "--access-log-client",
        action="store_true",
        help="name the client address in the access log (off: KPANIC_ACCESS_LOG_CLIENT)",
    )


SERVER_LIMIT_OPTIONS: tuple[tuple[str, str, type, str], ...] = (
    ("--max-header-bytes", "KPANIC_MAX_HEADER_BYTES", int, "request head size limit, 431"),
    ("--max-headers", "KPANIC_MAX_HEADERS", int, "header fields per request, 431"),
    ("--header-timeout", "KPANIC_HEADER_TIMEOUT", float, "seconds to send the headers, 408"),
    ("--keep-alive", "KPANIC_KEEP_ALIVE", int, "idle seconds between requests"),
    ("--max-connections", "KPANIC_MAX_CONNECTIONS", int, "open connections per process, 503"),
    (
        "--max-connections-per-client",
        "KPANIC_MAX_CONNECTIONS_PER_CLIENT",
        int,
        "open connections per client address and process, 503",
    ),
)


def _fill_demo(url: str, *, only_if_empty: bool) -> None:
    from kpanic.store.repository import Repository
    from kpanic.web.demo import fill_demo

    with Repository(url) as repo:
        if only_if_empty and repo.list_reports(per_page=1).total > 0:
            print("kpanic: the database already holds reports; not adding the demo data")
            return
        print("kpanic: generating demo crashes (logs -> drm_panic QR URLs/photos -> decode)...")
        summary = fill_demo(repo)
        token = repo.create_token("demo-admin").token
    print(f"kpanic: stored {summary.reports} demo reports in {summary.groups} groups")
    for failure in summary.failures:
        print(f"kpanic: demo example skipped: {failure}", file=sys.stderr)
    print(f"kpanic: demo admin token (log in at /admin/login): {token}")


def _run(args: argparse.Namespace, url: str) -> int:
    import uvicorn

    if args.workers < 1:
        raise KpanicError("--workers must be at least 1")
    # Workers are separate processes: they read the database URL from the environment.
    os.environ["KPANIC_DATABASE_URL"] = url
    os.environ["KPANIC_WEB_SKIP_MIGRATE"] = "1"  # the parent migrated already
    print(f"kpanic: serving on http://{args.host}:{args.port}/  (database: {_safe(url)})")
    print("kpanic: admin actions need a token: kpanic token create NAME (then log in at /admin)")
    for flag, env, _kind, _what in SERVER_LIMIT_OPTIONS:
        value = getattr(args, flag.lstrip("-").replace("-", "_"), None)
        if value is not None:
            os.environ[env] = str(value)
    if getattr(args, "access_log_client", False):
        os.environ["KPANIC_ACCESS_LOG_CLIENT"] = "1"
    from kpanic.web.accesslog import log_config
    from kpanic.web.config import ServerLimits

    limits = ServerLimits.from_env()
    metrics_dir = None
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # One metrics directory for the web and worker processes started here: /metrics of
        # any web process adds up all of them (prometheus-client's multiprocess mode). It is
        # removed when the service stops.
        import tempfile

        metrics_dir = tempfile.mkdtemp(prefix="kpanic-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    pool = None
    if not args.workers_external:
        from kpanic.worker.pool import WorkerPool

        queues = ["text"] * max(1, args.text_workers) + ["photo"]
        if not getattr(args, "no_notify", False):
            queues.append("notify")  # the triage dispatcher: rules, webhooks, mail (durable outbox)
        pool = WorkerPool(url, queues, log_level=args.log_level)
        pool.start()
    # uvicorn shuts down gracefully on SIGTERM, restores this handler and raises the signal
    # again: _Stopped then ends the run here, so the workers are stopped (drained) too.
    signal.signal(signal.SIGTERM, _stopped)
    try:
        uvicorn.run(
            "kpanic.web.asgi:create_app_from_env",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            log_level=args.log_level,
            proxy_headers=False,  # the app reads X-Forwarded-For itself (trusted proxies only)
            # kpanic.web.protocol: header size/count (431), header time (408), connections (503)
            http="kpanic.web.protocol:GuardedH11Protocol",
            h11_max_incomplete_event_size=limits.max_header_bytes + 1024,
            timeout_keep_alive=limits.keep_alive_s,
            log_config=log_config(limits.access_log_client),
        )
    except _Stopped:
        pass
    finally:
        if pool is not None:
            pool.stop()
        if metrics_dir is not None:
            import shutil

            shutil.rmtree(metrics_dir, ignore_errors=True)
    return 0


class _Stopped(Exception):
    """SIGTERM reached `kpanic serve` itself."""


def _stopped(_signum: int, _frame: object) -> None:
    raise _Stopped


def _worker(args: argparse.Namespace) -> int:
    from kpanic.observe import configure_logging
    from kpanic.settings import resolve_database_url
    from kpanic.store.db import upgrade
    from kpanic.worker import WorkerConfig, run_forever

    configure_logging(args.log_level)
    url = resolve_database_url(args.db)
    upgrade(url)
    if args.metrics_port:
        from prometheus_client import start_http_server

        start_http_server(args.metrics_port, addr="127.0.0.1")
    return run_forever(WorkerConfig.from_env(url, args.queue))


def _safe(url: str) -> str:
    """The URL without a password, for printing."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _serve(args: argparse.Namespace) -> int:
    from kpanic.settings import resolve_database_url
    from kpanic.store.db import upgrade

    url = resolve_database_url(args.db)
    upgrade(url)
    if args.demo:
        _fill_demo(url, only_if_empty=True)
    return _run(args, url)


def _demo(args: argparse.Namespace) -> int:
    from kpanic.settings import data_dir, resolve_database_url
    from kpanic.store.db import upgrade

    url = resolve_database_url(args.db or f"sqlite:///{data_dir() / 'demo.db'}")
    upgrade(url)
    _fill_demo(url, only_if_empty=True)
    if args.no_serve:
        return 0
    return _run(args, url)
