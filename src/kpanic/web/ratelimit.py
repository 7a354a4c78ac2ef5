"""Flood control for public intake, counted in the database so it holds across server processes.

A fixed-window counter per client: ``(client, window_start) -> count``, bumped with one atomic
upsert (``INSERT ... ON CONFLICT DO UPDATE ... RETURNING``, supported by SQLite >= 3.35 and
PostgreSQL). Several ``kpanic serve`` processes on one PostgreSQL share the counters, so a
client cannot multiply its budget by spreading requests over processes.

The table is ephemeral bookkeeping (no report data, rows older than two windows are deleted as
it goes); it is part of the store's migrated schema (``kpanic.store.models.RateLimitCounter``,
migration 0002). Clients are stored as an HMAC-SHA-256 of their address keyed with the
installation's secret (``kpanic.web.security.installation_secret``), never the address itself:
without the secret a key cannot be reversed by hashing every address of a network. Rows of past
windows are deleted once per window, so a key lives at most two windows (docs/privacy.md).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Engine, Table, delete
from sqlalchemy.dialects import postgresql, sqlite

from kpanic.store.models import RateLimitCounter

RATE_TABLE = cast(Table, RateLimitCounter.__table__)


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    count: int
    retry_after: int  # seconds until the window resets


def client_key(address: str, secret: bytes) -> str:
    """A stable key for a client address that only the holder of ``secret`` can compute."""
    digest = hmac.new(secret, address.encode("utf-8", "replace"), hashlib.sha256)
    return digest.hexdigest()[:40]


class RateLimiter:
    """``limit`` hits per ``window_s`` seconds per client; ``limit <= 0`` disables it."""

    def __init__(self, engine: Engine, limit: int, window_s: int, secret: bytes) -> None:
        self.engine = engine
        self.limit = limit
        self.window_s = max(1, window_s)
        self.secret = secret
        self._cleaned_window = -1  # the window whose expired rows this process last deleted

    def hit(self, address: str, now: float | None = None) -> Verdict:
        """Count one request from ``address`` and say whether it is within the budget."""
        if self.limit <= 0:
            return Verdict(True, 0, 0)
        now = time.time() if now is None else now
        window = int(now) // self.window_s * self.window_s
        key = client_key(address, self.secret)
        dialect = self.engine.dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        upsert = (
            insert(RATE_TABLE)
            .values(client=key, window_start=window, count=1)
            .on_conflict_do_update(
                index_elements=[RATE_TABLE.c.client, RATE_TABLE.c.window_start],
                set_={"count": RATE_TABLE.c.count + 1},
            )
            .returning(RATE_TABLE.c.count)
        )
        with self.engine.connect() as conn:
            conn = conn.execution_options(kpanic_write=True)
            with conn.begin():
                count = int(conn.execute(upsert).scalar_one())
                if window != self._cleaned_window:  # once per window: drop expired rows
                    self._cleaned_window = window
                    conn.execute(
                        delete(RATE_TABLE).where(RATE_TABLE.c.window_start < window - self.window_s)
                    )
        retry = window + self.window_s - int(now)
        return Verdict(count <= self.limit, count, max(1, retry))
