"""The crash report store: the one API the web service and the CLI use.

A :class:`Repository` holds only an engine and the settings: no in-process state another
process needs, so several ``kpanic serve`` processes can share one PostgreSQL. Every write is
one transaction and returns after it committed. Concurrency safety comes from the database:
unique ``content_hash`` (dedup) and ``signature`` (group creation) with ``ON CONFLICT``, and
counter updates done in SQL (``count = count + 1``), never read-modify-write in Python.

Typical use::

    from kpanic.store.repository import Repository, Filters, upgrade

    upgrade(url)                      # on start (idempotent)
    repo = Repository(url)
    res = repo.ingest_log(text)       # -> IngestResult(report_id, group_id, is_new, ...)
    page = repo.list_groups(Filters(bug_class="use-after-free"), sort="count", page=1)

The class is assembled from parts with one job each: ``writes`` (ingest transaction and
aggregates), ``batch`` (group commit: :meth:`store_many` writes many prepared reports in one
transaction with a fixed number of statements, what the web intake uses under load),
``queries`` (lists, pages, statistics), ``admin`` (merge, split, delete, reprocess); this
module adds construction, the ingest entry points, :meth:`report_by_hash` and API tokens.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import (
    bindparam,
    select,
    update,
)
from sqlalchemy.exc import DBAPIError

from kpanic.settings import Settings, get_settings, resolve_database_url
from kpanic.store import ingest as ingest_mod
from kpanic.store.admin import AdminMixin
from kpanic.store.batch import BatchWriteMixin, Pending
from kpanic.store.common import (
    _SUMMARY_COLUMNS,
    TOKEN_TOUCH_INTERVAL,
    NotFound,
    _now,
    _report_summary,
    _token_info,
)
from kpanic.store.db import current_revision, make_engine, read_session, upgrade, write_session
from kpanic.store.models import (
    ApiToken,
    Report,
)
from kpanic.store.tokens import display_prefix, generate_token, hash_token, looks_like_token
from kpanic.store.views import (
    Bucket,
    ClientInfo,
    FacetCount,
    Filters,
    GroupDetail,
    GroupSort,
    GroupSummary,
    IngestResult,
    Move,
    NewToken,
    Page,
    ReportDetail,
    ReportSort,
    ReportSummary,
    ReprocessSummary,
    Stats,
    TokenInfo,
)

__all__ = [
    "Bucket",
    "ClientInfo",
    "FacetCount",
    "Filters",
    "GroupDetail",
    "GroupSort",
    "GroupSummary",
    "IngestResult",
    "Move",
    "NewToken",
    "NotFound",
    "Pending",
    "Page",
    "ReportDetail",
    "ReportSort",
    "ReportSummary",
    "ReprocessSummary",
    "Repository",
    "Stats",
    "TokenInfo",
    "current_revision",
    "upgrade",
]

# Built once: on the duplicate fast path building the statement cost more than running it.
_BY_HASHES = select(*_SUMMARY_COLUMNS, Report.content_hash).where(
    Report.content_hash.in_(bindparam("hashes", expanding=True))
)


class Repository(BatchWriteMixin, AdminMixin):
    """Access to one crash report database (SQLite file or PostgreSQL).

    Thread-safe: each call opens its own session from the engine's pool. Create one per
    process and share it. The schema must be current (call :func:`upgrade` first).
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        settings: Settings | None = None,
    ) -> None:
        """Open the database at ``url`` (``--db``; default from settings/env)."""
        self.settings = settings or get_settings(url)
        if url is not None and settings is not None:
            self.settings = settings.with_(database_url=resolve_database_url(url))
        self.url = self.settings.database_url
        self.engine = make_engine(self.url)

    def close(self) -> None:
        """Release the connection pool."""
        self.engine.dispose()

    def __enter__(self) -> Repository:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ ingest

    def report_by_hash(self, content_hash: str) -> ReportSummary | None:
        """The stored report with this content hash (see :func:`ingest.content_hash`), or
        None: one indexed read, no texts (:meth:`reports_by_hash` for one hash)."""
        return self.reports_by_hash([content_hash])[0]

    def reports_by_hash(self, hashes: Sequence[str]) -> list[ReportSummary | None]:
        """The stored reports with these content hashes, in one indexed query (intake batches
        the lookups of concurrent requests, so that repeated submissions of one crash are
        answered without parsing): one summary or None per hash, in order. Autocommit: no
        transaction, so no ROLLBACK round trip when the connection goes back to the pool."""
        if not hashes:
            return []
        for attempt in range(2):
            try:
                with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                    rows = c.execute(_BY_HASHES, {"hashes": sorted(set(hashes))}).all()
                break
            except DBAPIError as exc:  # a connection the server dropped (restart): retry once
                if attempt or not exc.connection_invalidated:
                    raise
        found = {row.content_hash: _report_summary(row) for row in rows}
        return [found.get(h) for h in hashes]

    def ingest_log(
        self,
        text: str | bytes,
        *,
        client: ClientInfo | None = None,
        scrub: bool | None = None,
        received_at: dt.datetime | None = None,
    ) -> IngestResult:
        """Store a raw kernel log. ``scrub`` None: the configured default (on).

        Raises KpanicError subclasses for bad input (InputTooLarge, NoCrashFound, ...).
        A duplicate (same log text) returns the existing report with ``is_new=False``.
        """
        prepared = ingest_mod.prepare_log(text, scrub=scrub, settings=self.settings)
        return self.store(prepared, client=client, received_at=received_at)

    def ingest_url(
        self,
        url: str,
        *,
        client: ClientInfo | None = None,
        scrub: bool | None = None,
        received_at: dt.datetime | None = None,
    ) -> IngestResult:
        """Store the crash a drm_panic URL carries (PayloadError for a bad URL)."""
        prepared = ingest_mod.prepare_url(url, scrub=scrub, settings=self.settings)
        return self.store(prepared, client=client, received_at=received_at)

    def ingest_photo(
        self,
        data: bytes,
        *,
        client: ClientInfo | None = None,
        scrub: bool | None = None,
        received_at: dt.datetime | None = None,
    ) -> IngestResult:
        """Store the crash in a photo of a panic QR code (PhotoDecodeError when unreadable).

        The photo itself is not kept: its sha256 and size, the QR payload and the kmsg are.
        """
        prepared = ingest_mod.prepare_photo(data, scrub=scrub, settings=self.settings)
        return self.store(prepared, client=client, received_at=received_at)

    def ingest_file(
        self,
        path: Path,
        *,
        client: ClientInfo | None = None,
        scrub: bool | None = None,
        received_at: dt.datetime | None = None,
    ) -> IngestResult:
        """Store a file: images are photos, ``*.url`` files URLs, anything else a log."""
        prepared = ingest_mod.prepare_file(Path(path), scrub=scrub, settings=self.settings)
        return self.store(prepared, client=client, received_at=received_at)

    def find_by_content(self, content_hash: str) -> int | None:
        """The id of the report with this content hash, if stored."""
        with read_session(self.engine) as s:
            return s.scalar(select(Report.id).where(Report.content_hash == content_hash))

    # ------------------------------------------------------------------ tokens

    def create_token(self, name: str = "") -> NewToken:
        """A new API token; the plain token is in the result only (stored as sha256)."""
        token = generate_token()
        with write_session(self.engine) as s:
            row = ApiToken(
                name=name.strip()[:128],
                token_hash=hash_token(token),
                prefix=display_prefix(token),
                created_at=_now(),
            )
            s.add(row)
            s.flush()
            info = _token_info(row)
        return NewToken(info=info, token=token)

    def verify_token(self, token: str) -> TokenInfo | None:
        """The token's info if it is valid and not revoked, else None (records last use)."""
        if not looks_like_token(token):
            return None
        digest = hash_token(token)
        with read_session(self.engine) as s:
            row = s.scalars(select(ApiToken).where(ApiToken.token_hash == digest)).first()
            if row is None or row.revoked_at is not None:
                return None
            info = _token_info(row)
        now = _now()
        if info.last_used_at is None or now - info.last_used_at > TOKEN_TOUCH_INTERVAL:
            with write_session(self.engine) as s:
                s.execute(update(ApiToken).where(ApiToken.id == info.id).values(last_used_at=now))
            info = dataclasses.replace(info, last_used_at=now)
        return info

    def list_tokens(self) -> list[TokenInfo]:
        """All tokens (revoked ones included), oldest first."""
        with read_session(self.engine) as s:
            return [_token_info(t) for t in s.scalars(select(ApiToken).order_by(ApiToken.id))]

    def revoke_token(self, token_id: int) -> bool:
        """Revoke a token by id; False if there is no such active token."""
        with write_session(self.engine) as s:
            res = s.execute(
                update(ApiToken)
                .where(ApiToken.id == token_id, ApiToken.revoked_at.is_(None))
                .values(revoked_at=_now())
            )
            return bool(res.rowcount)  # type: ignore[attr-defined]


def open_repository(url: str | None = None, *, migrate: bool = True) -> Repository:
    """A Repository for ``url`` (``--db`` / env / default), migrating the schema first."""
    if migrate:
        upgrade(url)
    return Repository(url)
