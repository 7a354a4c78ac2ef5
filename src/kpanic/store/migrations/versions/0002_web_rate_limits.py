"""web rate limit counters

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22

The web layer used to create ``web_rate_limits`` itself (``CREATE TABLE IF NOT EXISTS`` on
start), so databases served before this revision may already hold it: it is created only when
missing, with the same columns.
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if "web_rate_limits" in sa.inspect(op.get_bind()).get_table_names():
        return
    op.create_table(
        "web_rate_limits",
        sa.Column("client", sa.String(length=40), nullable=False),
        sa.Column("window_start", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("client", "window_start", name=op.f("pk_web_rate_limits")),
    )


def downgrade() -> None:
    op.drop_table("web_rate_limits")
