"""submissions: accepted raw input, the workers' queue

(Numbered 0007 although written before 0006_triage landed: installations already at
0006_triage must still receive this table, so it comes after it.)

Revision ID: 0007
Revises: 0006_triage
Create Date: 2026-12-03

Intake acknowledges a submission once its raw input is in this table (one small transaction);
worker processes claim queued rows in batches, analyse and store them (see
``kpanic.store.queue`` and docs/deploy.md).
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006_triage"
branch_labels = None
depends_on = None

JSONType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
IdType = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "submissions",
        sa.Column("id", IdType, autoincrement=True, nullable=False),
        sa.Column("queue", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=True),
        sa.Column("is_text", sa.Boolean(), nullable=False),
        sa.Column("raw_hash", sa.String(length=64), nullable=False),
        sa.Column("origin", JSONType, nullable=True),
        sa.Column("client", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("report_id", IdType, nullable=True),
        sa.Column("is_new", sa.Boolean(), nullable=True),
        sa.Column("group_is_new", sa.Boolean(), nullable=True),
        sa.Column("error_status", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["reports.id"],
            name=op.f("fk_submissions_report_id_reports"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_submissions")),
    )
    op.create_index("ix_submissions_queue_status_id", "submissions", ["queue", "status", "id"])
    op.create_index("ix_submissions_raw_hash", "submissions", ["raw_hash"])
    op.create_index("ix_submissions_queue_finished_at", "submissions", ["queue", "finished_at"])
    op.create_index("ix_submissions_report_id", "submissions", ["report_id"])


def downgrade() -> None:
    op.drop_table("submissions")
