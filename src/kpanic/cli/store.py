"""Data-management commands: ``kpanic db``, ``import``, ``reprocess``, ``token``, ``group``,
``report``.

All take ``--db URL`` (else ``KPANIC_DATABASE_URL``, else SQLite in the data directory) and
migrate the schema first, so they work on a fresh database.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from kpanic.cli import selection
from kpanic.errors import KpanicError

IMPORT_SKIP_SUFFIXES = (".json", ".md", ".gz", ".xz", ".zst", ".zip", ".tar")


def _add_db(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        metavar="URL",
        default=None,
        help="database URL (sqlite:///PATH or postgresql+psycopg://...); "
        "default: $KPANIC_DATABASE_URL or SQLite in the data directory",
    )


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add this module's sub-commands to the `kpanic` parser."""
    db = sub.add_parser("db", help="database schema: upgrade, current revision, location")
    db_sub = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    p = db_sub.add_parser("upgrade", help="apply the schema migrations (idempotent)")
    _add_db(p)
    p.set_defaults(handler=_db_upgrade)
    p = db_sub.add_parser("current", help="print the database URL and its schema revision")
    _add_db(p)
    p.set_defaults(handler=_db_current)

    p = sub.add_parser(
        "import",
        help="bulk-load kernel logs, panic URLs (*.url) and QR photos into the store",
        description="Parse files in parallel (one writer); the same content twice is one report.",
    )
    p.add_argument(
        "paths", nargs="+", type=Path, metavar="DIR|FILE", help="files and directories to load"
    )
    _add_db(p)
    p.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1, help="parser processes")
    scrub = p.add_mutually_exclusive_group()
    scrub.add_argument(
        "--scrub",
        dest="scrub",
        action="store_true",
        default=None,
        help="remove personal data before storing (the default unless KPANIC_SCRUB=0)",
    )
    scrub.add_argument(
        "--no-scrub",
        dest="scrub",
        action="store_false",
        help="keep host/user names, addresses and serials (default: $KPANIC_SCRUB, on)",
    )
    p.add_argument(
        "--mtime", action="store_true", help="use each file's modification time as received time"
    )
    selection.add_arguments(p)
    p.set_defaults(handler=_import)

    p = sub.add_parser(
        "reprocess",
        help="re-parse, re-classify and re-group stored reports after an upgrade",
    )
    _add_db(p)
    p.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1, help="parser processes")
    p.add_argument("--quiet", action="store_true", help="print only the summary line")
    p.set_defaults(handler=_reprocess)

    tok = sub.add_parser("token", help="API tokens: create, list, revoke")
    tok_sub = tok.add_subparsers(dest="token_command", metavar="ACTION", required=True)
    p = tok_sub.add_parser("create", help="create a token and print it (shown only once)")
    p.add_argument("name", nargs="?", default=None, metavar="NAME", help="what the token is for")
    p.add_argument("--name", dest="name_opt", default=None, metavar="NAME", help="the same")
    _add_db(p)
    p.set_defaults(handler=_token_create)
    p = tok_sub.add_parser("list", help="list tokens (never the tokens themselves)")
    _add_db(p)
    p.set_defaults(handler=_token_list)
    p = tok_sub.add_parser("revoke", help="revoke a token by id")
    p.add_argument("token_id", type=int, help="the id 'kpanic token list' shows")
    _add_db(p)
    p.set_defaults(handler=_token_revoke)

    grp = sub.add_parser("group", help="crash groups: merge, status, assign, link, show")
    grp_sub = grp.add_subparsers(dest="group_command", metavar="ACTION", required=True)
    p = grp_sub.add_parser("merge", help="merge groups into TARGET (sticks across reprocess)")
    p.add_argument("target", type=int, help="the group that stays")
    p.add_argument("sources", type=int, nargs="+", help="the groups merged into it")
    _add_db(p)
    p.set_defaults(handler=_group_merge)

    rep = sub.add_parser("report", help="stored reports: split into a new group, delete")
    rep_sub = rep.add_subparsers(dest="report_command", metavar="ACTION", required=True)
    p = rep_sub.add_parser("split", help="move a report into a new group of its own")
    p.add_argument("report_id", type=int, help="the report's id (its page is /reports/ID)")
    _add_db(p)
    p.set_defaults(handler=_report_split)
    p = rep_sub.add_parser("delete", help="delete a report for good")
    p.add_argument("report_id", type=int, help="the report's id (its page is /reports/ID)")
    _add_db(p)
    p.set_defaults(handler=_report_delete)


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for other databases and in-memory SQLite)."""
    from sqlalchemy.engine import make_url

    u = make_url(url)
    if not u.drivername.startswith("sqlite") or not u.database or u.database == ":memory:":
        return None
    return Path(u.database)


def check_db_location(db: str | None) -> None:
    """An explicit ``--db`` (or ``KPANIC_DATABASE_URL``) SQLite file must be in an existing
    directory: kpanic does not create directories silently (the default data directory is
    kpanic's own and is created)."""
    from kpanic.settings import resolve_database_url

    if not db and not os.environ.get("KPANIC_DATABASE_URL"):
        return
    path = sqlite_path(resolve_database_url(db))
    if path is None:
        return
    if path.is_dir():
        raise KpanicError(f"{path}: is a directory, not a database file")
    if not path.parent.is_dir():
        raise KpanicError(f"{path}: directory {path.parent} does not exist (create it first)")


def _repo(args: argparse.Namespace) -> Any:
    from kpanic.store.repository import open_repository

    check_db_location(args.db)
    return open_repository(args.db)


def _db_upgrade(args: argparse.Namespace) -> int:
    from kpanic.settings import resolve_database_url
    from kpanic.store.db import current_revision, upgrade

    check_db_location(args.db)
    upgrade(args.db)
    url = resolve_database_url(args.db)
    print(f"{_safe_url(url)}: schema at revision {current_revision(args.db)}")
    return 0


def _db_current(args: argparse.Namespace) -> int:
    from kpanic.settings import resolve_database_url
    from kpanic.store.db import current_revision, head_revision

    url = resolve_database_url(args.db)
    path = sqlite_path(url)
    if path is not None and not path.is_file():
        # Looking must not create: connecting to SQLite would make an empty file.
        raise KpanicError(f"{path}: no database here (kpanic db upgrade creates one)")
    rev = current_revision(args.db)
    head = head_revision()
    state = "up to date" if rev == head else f"needs upgrade to {head}"
    print(f"{_safe_url(url)}: revision {rev or '(none)'} ({state})")
    return 0


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


# ----------------------------------------------------------------------------- import


def _prepare_one(job: tuple[Path, bool | None, Any]) -> tuple[Any, str | None]:
    """Worker: prepare one file; errors come back as text (they must not kill the pool)."""
    from kpanic.store.ingest import prepare_file

    path, scrub, settings = job
    try:
        return prepare_file(path, scrub=scrub, settings=settings), None
    except KpanicError as exc:
        return None, str(exc)
    except (OSError, UnicodeError, ValueError) as exc:
        return None, f"{type(exc).__name__}: {exc}"


def _import(args: argparse.Namespace) -> int:
    from concurrent.futures import ProcessPoolExecutor

    from kpanic.cli.progress import Progress
    from kpanic.store.ingest import log_file_hash
    from kpanic.store.views import ClientInfo

    sel = selection.select(
        args.paths, globs=args.glob, excludes=args.exclude, skip_suffixes=IMPORT_SKIP_SUFFIXES
    )
    note = sel.note()
    if note:
        print(f"kpanic: {note}", file=sys.stderr)
    files = sel.files
    if not files:
        raise KpanicError("no files to import")
    repo = _repo(args)
    new = dup = new_groups = 0
    total = len(files)
    # Logs already stored (same content hash) are not parsed again.
    todo = []
    for f in files:
        key = log_file_hash(f, repo.settings)
        if key is not None and repo.find_by_content(key) is not None:
            dup += 1
        else:
            todo.append(f)
    files = todo
    jobs = [(f, args.scrub, repo.settings) for f in files]
    client = ClientInfo(via="import")
    errors: list[tuple[Path, str]] = []
    workers = max(1, min(args.jobs, len(files) or 1))
    pool = ProcessPoolExecutor(max_workers=workers) if workers > 1 else None
    try:
        results: Iterable[tuple[Any, str | None]] = (
            pool.map(_prepare_one, jobs, chunksize=4) if pool else map(_prepare_one, jobs)
        )
        with Progress(total, "importing") as progress:
            progress.advance(dup)
            for path, (prepared, error) in zip(files, results, strict=True):
                progress.advance()
                if prepared is None:
                    errors.append((path, error or "unknown error"))
                    continue
                when = None
                if args.mtime:
                    when = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)
                res = repo.store(prepared, client=client, received_at=when)
                if res.is_new:
                    new += 1
                    new_groups += int(res.group_is_new)
                else:
                    dup += 1
    finally:
        if pool:
            pool.shutdown(cancel_futures=True)
        if new:
            from kpanic.store.db import refresh_statistics

            refresh_statistics(repo.engine)
        repo.close()
    print(
        f"imported {new} new reports ({new_groups} new groups), {dup} already stored, "
        f"{len(errors)} skipped, from {total} files"
    )
    for path, error in errors[:50]:
        print(f"  skipped {path}: {error}", file=sys.stderr)
    if len(errors) > 50:
        print(f"  ... and {len(errors) - 50} more", file=sys.stderr)
    return 0 if new or dup else 1


# ----------------------------------------------------------------------------- reprocess


def _reprocess(args: argparse.Namespace) -> int:
    from kpanic.cli.progress import Progress

    repo = _repo(args)
    try:
        with Progress(None, "reprocessing") as progress:

            def report(done: int, total: int) -> None:
                progress.set_total(total)
                progress.advance(done - progress.done)

            summary = repo.reprocess(progress=report, jobs=max(1, args.jobs))
    finally:
        repo.close()
    if not args.quiet:
        for m in summary.moved:
            print(
                f"report {m.report_id}: group {m.old_group_id} -> {m.new_group_id}  "
                f"{m.old_title!r} -> {m.new_title!r}"
            )
        for gid in summary.groups_created:
            print(f"new group {gid}")
        for gid in summary.groups_removed:
            print(f"removed empty group {gid}")
        for rid, why in summary.errors:
            print(f"report {rid}: not reprocessed: {why}", file=sys.stderr)
    print(
        f"reprocessed {summary.reports} reports: {len(summary.moved)} moved, "
        f"{summary.retitled} re-titled in place, {len(summary.groups_created)} groups created, "
        f"{len(summary.groups_removed)} removed, {len(summary.errors)} errors"
    )
    return 0


# ----------------------------------------------------------------------------- tokens


def _token_create(args: argparse.Namespace) -> int:
    if args.name and args.name_opt and args.name != args.name_opt:
        raise KpanicError("give the token's name once: NAME or --name NAME")
    name = args.name or args.name_opt or ""
    repo = _repo(args)
    try:
        new = repo.create_token(name)
    finally:
        repo.close()
    print(new.token)
    print(
        f"token {new.info.id} ({new.info.name or 'unnamed'}) created; it is shown only this once",
        file=sys.stderr,
    )
    return 0


def _token_list(args: argparse.Namespace) -> int:
    repo = _repo(args)
    try:
        tokens = repo.list_tokens()
    finally:
        repo.close()
    for t in tokens:
        used = t.last_used_at.isoformat(timespec="seconds") if t.last_used_at else "never"
        state = "revoked" if t.revoked else "active"
        print(f"{t.id}\t{t.prefix}...\t{state}\tlast used {used}\t{t.name}")
    return 0


def _token_revoke(args: argparse.Namespace) -> int:
    repo = _repo(args)
    try:
        ok = repo.revoke_token(args.token_id)
    finally:
        repo.close()
    if not ok:
        raise KpanicError(f"no active token with id {args.token_id}")
    print(f"token {args.token_id} revoked")
    return 0


# ----------------------------------------------------------------------------- admin


def _group_merge(args: argparse.Namespace) -> int:
    repo = _repo(args)
    try:
        g = repo.merge_groups(args.target, args.sources)
    finally:
        repo.close()
    print(f"group {g.id} now has {g.report_count} reports: {g.title}")
    return 0


def _report_split(args: argparse.Namespace) -> int:
    repo = _repo(args)
    try:
        g = repo.split_report_to_new_group(args.report_id)
    finally:
        repo.close()
    print(f"report {args.report_id} is now in new group {g.id}: {g.title}")
    return 0


def _report_delete(args: argparse.Namespace) -> int:
    repo = _repo(args)
    try:
        ok = repo.delete_report(args.report_id)
    finally:
        repo.close()
    if not ok:
        raise KpanicError(f"no such report: {args.report_id}")
    print(f"report {args.report_id} deleted")
    return 0
