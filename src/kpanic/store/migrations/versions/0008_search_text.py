"""search text: the words of each report and group, indexed for the lists' text search

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03

``q`` matched only group titles and signatures. ``reports.search_text`` and
``crash_groups.search_text`` hold the words of the title, stack frames, guilty file, modules
and report text (``kpanic.store.search``), filled at ingest. Indexed: on SQLite by FTS5 tables
``reports_fts`` and ``crash_groups_fts`` (external content, kept in step by triggers), on
PostgreSQL by GIN indexes on a stored generated column ``search_vector`` =
``to_tsvector('simple', search_text)`` (built in, no extension).

The upgrade fills the column for every stored report from its stored parse result (about a
minute per 100,000 reports), and each group's from its representative report.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

BATCH = 2000
FTS = (("reports", "reports_fts"), ("crash_groups", "crash_groups_fts"))


def _fill(conn: Any) -> None:
    from kpanic.store.search import search_text

    last = 0
    select = sa.text(
        "SELECT id, parse, title, signature FROM reports WHERE id > :last ORDER BY id LIMIT :n"
    )
    update = sa.text("UPDATE reports SET search_text = :t WHERE id = :id")
    while True:
        rows = conn.execute(select, {"last": last, "n": BATCH}).all()
        if not rows:
            break
        values = []
        for rid, parse, title, signature in rows:
            data = json.loads(parse) if isinstance(parse, str | bytes) else parse
            values.append({"id": rid, "t": search_text(data, title, signature)})
        conn.execute(update, values)
        last = rows[-1][0]
    conn.execute(
        sa.text(
            "UPDATE crash_groups SET search_text = (SELECT r.search_text FROM reports r "
            "WHERE r.id = crash_groups.last_report_id)"
        )
    )


def upgrade() -> None:
    op.add_column("reports", sa.Column("search_text", sa.Text(), nullable=True))
    op.add_column("crash_groups", sa.Column("search_text", sa.Text(), nullable=True))
    conn = op.get_bind()
    _fill(conn)
    if conn.dialect.name == "postgresql":
        for table, _ in FTS:
            # Stored, so that a filter on it never computes tsvectors per row.
            op.execute(
                f"ALTER TABLE {table} ADD COLUMN search_vector tsvector GENERATED ALWAYS AS "
                f"(to_tsvector('simple'::regconfig, coalesce(search_text, ''))) STORED"
            )
            op.execute(
                f"CREATE INDEX ix_{table}_search ON {table} "  # search.PG_INDEXES
                f"USING gin (search_vector)"
            )
        return
    for table, fts in FTS:
        # detail=none: the lists search by word prefixes only (no phrases), the smallest index.
        op.execute(
            f"CREATE VIRTUAL TABLE {fts} USING fts5(search_text, content='{table}', "
            f"content_rowid='id', detail=none)"
        )
        op.execute(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')")
        op.execute(
            f"CREATE TRIGGER {fts}_insert AFTER INSERT ON {table} "
            f"WHEN new.search_text IS NOT NULL BEGIN "
            f"INSERT INTO {fts}(rowid, search_text) VALUES (new.id, new.search_text); END"
        )
        op.execute(
            f"CREATE TRIGGER {fts}_delete AFTER DELETE ON {table} "
            f"WHEN old.search_text IS NOT NULL BEGIN "
            f"INSERT INTO {fts}({fts}, rowid, search_text) "
            f"VALUES ('delete', old.id, old.search_text); END"
        )
        op.execute(
            f"CREATE TRIGGER {fts}_update AFTER UPDATE OF search_text ON {table} BEGIN "
            f"INSERT INTO {fts}({fts}, rowid, search_text) "
            f"SELECT 'delete', old.id, old.search_text WHERE old.search_text IS NOT NULL; "
            f"INSERT INTO {fts}(rowid, search_text) "
            f"SELECT new.id, new.search_text WHERE new.search_text IS NOT NULL; END"
        )


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        for table, _ in FTS:
            op.execute(f"DROP INDEX IF EXISTS ix_{table}_search")
            op.execute(f"ALTER TABLE {table} DROP COLUMN IF EXISTS search_vector")
    else:
        for _, fts in FTS:
            for what in ("insert", "delete", "update"):
                op.execute(f"DROP TRIGGER IF EXISTS {fts}_{what}")
            op.execute(f"DROP TABLE IF EXISTS {fts}")
    for table, _ in FTS:
        if conn.dialect.name == "postgresql":
            op.drop_column(table, "search_text")
        else:  # SQLite >= 3.35 drops a column in place (batch mode would rebuild the table)
            op.execute(f"ALTER TABLE {table} DROP COLUMN search_text")
