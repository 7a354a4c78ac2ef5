"""PostgreSQL: compress the large report columns with lz4

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22

PostgreSQL compresses large values (TOAST) with pglz by default; on intake that was a fifth of
all CPU cycles of the machine (perf, bench_intake.py). lz4 compresses several times faster for a
similar size. Needs PostgreSQL 14+ built with lz4 (Debian's, most distributions'); elsewhere the
revision changes nothing. Only values written from now on use it; old ones stay readable. SQLite
stores these columns uncompressed: nothing to do.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

COLUMNS = ("original", "kmsg", "parse", "classification", "payload")


def _set(method: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql" or (bind.dialect.server_version_info or (0,)) < (14,):
        return
    try:
        with bind.begin_nested():  # a server without lz4 refuses: keep pglz, go on
            for column in COLUMNS:
                bind.execute(
                    sa.text(f"ALTER TABLE reports ALTER COLUMN {column} SET COMPRESSION {method}")
                )
    except sa.exc.DBAPIError:
        return


def upgrade() -> None:
    _set("lz4")


def downgrade() -> None:
    _set("pglz")
