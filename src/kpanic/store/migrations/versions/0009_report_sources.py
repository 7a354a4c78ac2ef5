"""report_sources: the pieces of one crash joined into one report

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03

A QR tail and the full log of the same crash (or several pstore parts sent separately) are
joined into one report (``kpanic.store.join``); each joined piece is one row here.

"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

IdType = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "report_sources",
        sa.Column("id", IdType, autoincrement=True, nullable=False),
        sa.Column("report_id", IdType, nullable=False),
        sa.Column("role", sa.String(length=8), nullable=False),
        sa.Column("source_kind", sa.String(length=8), nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("lines", sa.Integer(), nullable=False),
        sa.Column("submission_id", IdType, nullable=True),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["reports.id"],
            name=op.f("fk_report_sources_report_id_reports"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name=op.f("fk_report_sources_submission_id_submissions"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_sources")),
        sa.UniqueConstraint("content_hash", name=op.f("uq_report_sources_content_hash")),
    )
    op.create_index(
        "ix_report_sources_report_id_received_at", "report_sources", ["report_id", "received_at"]
    )
    op.create_index("ix_report_sources_submission_id", "report_sources", ["submission_id"])


def downgrade() -> None:
    op.drop_index("ix_report_sources_submission_id", table_name="report_sources")
    op.drop_index("ix_report_sources_report_id_received_at", table_name="report_sources")
    op.drop_table("report_sources")
