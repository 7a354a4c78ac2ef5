"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "api_tokens",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    op.create_table(
        "crash_groups",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("signature", sa.String(length=512), nullable=False),
        sa.Column("signature_version", sa.String(length=32), nullable=True),
        sa.Column("title", sa.String(length=512), nullable=False),
        sa.Column("search_key", sa.Text(), nullable=False),
        sa.Column("type", sa.String(length=128), nullable=True),
        sa.Column("bug_class", sa.String(length=64), nullable=True),
        sa.Column("rust_prevents", sa.String(length=16), nullable=True),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("report_count", sa.BigInteger(), nullable=False),
        sa.Column("full_count", sa.BigInteger(), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "last_report_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("created_by", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crash_groups")),
        sa.UniqueConstraint("signature", name=op.f("uq_crash_groups_signature")),
    )
    with op.batch_alter_table("crash_groups", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_crash_groups_bug_class"), ["bug_class"], unique=False)
        batch_op.create_index("ix_crash_groups_first_seen", ["first_seen"], unique=False)
        batch_op.create_index(batch_op.f("ix_crash_groups_language"), ["language"], unique=False)
        batch_op.create_index(batch_op.f("ix_crash_groups_last_seen"), ["last_seen"], unique=False)
        batch_op.create_index("ix_crash_groups_report_count", ["report_count"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_crash_groups_rust_prevents"), ["rust_prevents"], unique=False
        )
        batch_op.create_index("ix_crash_groups_title", ["title"], unique=False)

    op.create_table(
        "daily_counts",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("dim", sa.String(length=96), nullable=False),
        sa.Column("value", sa.String(length=128), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "dim", "value", name=op.f("pk_daily_counts")),
    )
    with op.batch_alter_table("daily_counts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_daily_counts_dim_value_day", ["dim", "value", "day", "count"], unique=False
        )

    op.create_table(
        "group_facets",
        sa.Column("group_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("facet", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=128), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["crash_groups.id"],
            name=op.f("fk_group_facets_group_id_crash_groups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("group_id", "facet", "value", name=op.f("pk_group_facets")),
    )
    with op.batch_alter_table("group_facets", schema=None) as batch_op:
        batch_op.create_index(
            "ix_group_facets_facet_value", ["facet", "value", "group_id"], unique=False
        )

    op.create_table(
        "reports",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("group_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("source_kind", sa.String(length=8), nullable=False),
        sa.Column("original", sa.Text(), nullable=True),
        sa.Column("kmsg", sa.Text(), nullable=True),
        sa.Column("photo_sha256", sa.String(length=64), nullable=True),
        sa.Column("photo_size", sa.BigInteger(), nullable=True),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("scrubbed", sa.Boolean(), nullable=False),
        sa.Column(
            "scrub_counts",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("pruned", sa.Boolean(), nullable=False),
        sa.Column(
            "parse",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "classification",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("title", sa.String(length=512), nullable=False),
        sa.Column("type", sa.String(length=128), nullable=True),
        sa.Column("bug_class", sa.String(length=64), nullable=True),
        sa.Column("rust_prevents", sa.String(length=16), nullable=True),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("kernel", sa.String(length=128), nullable=True),
        sa.Column("arch", sa.String(length=32), nullable=True),
        sa.Column("distro", sa.String(length=64), nullable=True),
        sa.Column("signature", sa.String(length=512), nullable=False),
        sa.Column("signature_version", sa.String(length=32), nullable=True),
        sa.Column("parser_version", sa.String(length=32), nullable=True),
        sa.Column("classifier_version", sa.String(length=32), nullable=True),
        sa.Column("corrupted", sa.Boolean(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "client",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["crash_groups.id"],
            name=op.f("fk_reports_group_id_crash_groups"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reports")),
        sa.UniqueConstraint("content_hash", name=op.f("uq_reports_content_hash")),
    )
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.create_index("ix_reports_arch_received", ["arch", "received_at"], unique=False)
        batch_op.create_index(
            "ix_reports_bug_class_received", ["bug_class", "received_at"], unique=False
        )
        batch_op.create_index("ix_reports_distro_received", ["distro", "received_at"], unique=False)
        batch_op.create_index(
            "ix_reports_group_pruned_received", ["group_id", "pruned", "received_at"], unique=False
        )
        batch_op.create_index(
            "ix_reports_group_received", ["group_id", "received_at"], unique=False
        )
        batch_op.create_index("ix_reports_kernel_received", ["kernel", "received_at"], unique=False)
        batch_op.create_index(
            "ix_reports_language_received", ["language", "received_at"], unique=False
        )
        batch_op.create_index("ix_reports_received_at", ["received_at"], unique=False)
        batch_op.create_index(
            "ix_reports_rust_prevents_received", ["rust_prevents", "received_at"], unique=False
        )
        batch_op.create_index("ix_reports_signature", ["signature"], unique=False)

    op.create_table(
        "group_overrides",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("signature", sa.String(length=512), nullable=True),
        sa.Column("report_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("group_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["crash_groups.id"],
            name=op.f("fk_group_overrides_group_id_crash_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["reports.id"],
            name=op.f("fk_group_overrides_report_id_reports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_overrides")),
        sa.UniqueConstraint("report_id", name=op.f("uq_group_overrides_report_id")),
        sa.UniqueConstraint("signature", name=op.f("uq_group_overrides_signature")),
    )
    with op.batch_alter_table("group_overrides", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_group_overrides_group_id"), ["group_id"], unique=False)


def downgrade():
    with op.batch_alter_table("group_overrides", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_group_overrides_group_id"))

    op.drop_table("group_overrides")
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.drop_index("ix_reports_signature")
        batch_op.drop_index("ix_reports_rust_prevents_received")
        batch_op.drop_index("ix_reports_received_at")
        batch_op.drop_index("ix_reports_language_received")
        batch_op.drop_index("ix_reports_kernel_received")
        batch_op.drop_index("ix_reports_group_received")
        batch_op.drop_index("ix_reports_group_pruned_received")
        batch_op.drop_index("ix_reports_distro_received")
        batch_op.drop_index("ix_reports_bug_class_received")
        batch_op.drop_index("ix_reports_arch_received")

    op.drop_table("reports")
    with op.batch_alter_table("group_facets", schema=None) as batch_op:
        batch_op.drop_index("ix_group_facets_facet_value")

    op.drop_table("group_facets")
    with op.batch_alter_table("daily_counts", schema=None) as batch_op:
        batch_op.drop_index("ix_daily_counts_dim_value_day")

    op.drop_table("daily_counts")
    with op.batch_alter_table("crash_groups", schema=None) as batch_op:
        batch_op.drop_index("ix_crash_groups_title")
        batch_op.drop_index(batch_op.f("ix_crash_groups_rust_prevents"))
        batch_op.drop_index("ix_crash_groups_report_count")
        batch_op.drop_index(batch_op.f("ix_crash_groups_last_seen"))
        batch_op.drop_index(batch_op.f("ix_crash_groups_language"))
        batch_op.drop_index("ix_crash_groups_first_seen")
        batch_op.drop_index(batch_op.f("ix_crash_groups_bug_class"))

    op.drop_table("crash_groups")
    op.drop_table("api_tokens")
