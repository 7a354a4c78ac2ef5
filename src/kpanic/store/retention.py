"""How long what kpanic keeps about a submitter stays (docs/privacy.md).

A report keeps its sender's rate-limit key (``client.ip``: ``HMAC(installation secret,
address)``, never the address) only while flood control needs it to cap one sender's share of
a group's kept texts (issue 12 defect 6). After ``KPANIC_SUBMITTER_KEY_DAYS`` (default 30) the
key is removed from the report; the report itself stays.
"""

from __future__ import annotations

import datetime as dt
import os

from sqlalchemy import DateTime, bindparam, text
from sqlalchemy.engine import Engine

from kpanic.store.db import write_session

DEFAULT_DAYS = 30
PURGE_EVERY_S = 600.0  # how often a text worker runs the purge


def key_days() -> int:
    """``KPANIC_SUBMITTER_KEY_DAYS`` (1..3650, default 30)."""
    try:
        days = int(os.environ.get("KPANIC_SUBMITTER_KEY_DAYS", DEFAULT_DAYS))
    except ValueError:
        return DEFAULT_DAYS
    return min(3650, max(1, days))


_PURGE = {
    "postgresql": "UPDATE reports SET client = client - 'ip' "
    "WHERE received_at < :cutoff AND received_at >= :since AND client ? 'ip'",
    "sqlite": "UPDATE reports SET client = json_remove(client, '$.ip') "
    "WHERE received_at < :cutoff AND received_at >= :since "
    "AND json_extract(client, '$.ip') IS NOT NULL",
}


def purge_submitter_keys(
    engine: Engine, *, now: dt.datetime | None = None, since: dt.datetime | None = None
) -> tuple[int, dt.datetime]:
    """Remove the sender key from reports older than the retention; returns how many and the
    cutoff (pass it back as ``since`` next time: only newer reports are looked at again)."""
    now = now or dt.datetime.now(dt.UTC)
    cutoff = now - dt.timedelta(days=key_days())
    floor = since or dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    with write_session(engine) as s:
        stmt = text(_PURGE[engine.dialect.name]).bindparams(
            bindparam("cutoff", type_=DateTime(timezone=True)),
            bindparam("since", type_=DateTime(timezone=True)),
        )
        result = s.execute(stmt, {"cutoff": cutoff, "since": floor})
        n = int(getattr(result, "rowcount", 0) or 0)
    return n, cutoff
