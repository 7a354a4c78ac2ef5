"""triage: group state, subsystems, audit trail, links; notification rules, events, outbox

Revision ID: 0006_triage
Revises: 0004
Create Date: 2026-12-03

New tables only: existing groups have no ``group_triage`` row, which means open and
unassigned, so the upgrade writes nothing into existing tables.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006_triage"
down_revision = "0004"
branch_labels = None
depends_on = None

JSONType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
IdType = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def _group_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["group_id"],
        ["crash_groups.id"],
        ondelete="CASCADE",
        name=op.f(f"fk_{table}_group_id_crash_groups"),
    )


def upgrade() -> None:
    op.create_table(
        "group_triage",
        sa.Column("group_id", IdType, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("fix_commit", sa.String(200)),
        sa.Column("fix_release", sa.String(128)),
        sa.Column("invalid_reason", sa.String(500)),
        sa.Column("duplicate_of", IdType),
        sa.Column("regressed", sa.Boolean(), nullable=False),
        sa.Column("regressed_at", TS),
        sa.Column("assignee", sa.String(128)),
        sa.Column("before_fix", sa.BigInteger(), nullable=False),
        sa.Column("unplaced", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        _group_fk("group_triage"),
        sa.PrimaryKeyConstraint("group_id", name=op.f("pk_group_triage")),
    )
    for col in ("status", "regressed", "assignee"):
        op.create_index(op.f(f"ix_group_triage_{col}"), "group_triage", [col])
    op.create_table(
        "group_subsystems",
        sa.Column("group_id", IdType, nullable=False),
        sa.Column("subsystem", sa.String(200), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        _group_fk("group_subsystems"),
        sa.PrimaryKeyConstraint("group_id", "subsystem", name=op.f("pk_group_subsystems")),
    )
    op.create_index(
        "ix_group_subsystems_subsystem_group", "group_subsystems", ["subsystem", "group_id"]
    )
    op.create_table(
        "group_events",
        sa.Column("id", IdType, autoincrement=True, nullable=False),
        sa.Column("group_id", IdType, nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("who", sa.String(128), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("summary", sa.String(500), nullable=False),
        sa.Column("why", sa.Text(), nullable=False),
        sa.Column("detail", JSONType),
        _group_fk("group_events"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_events")),
    )
    op.create_index(op.f("ix_group_events_group_id"), "group_events", ["group_id"])
    op.create_table(
        "group_links",
        sa.Column("id", IdType, autoincrement=True, nullable=False),
        sa.Column("group_id", IdType, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("title", sa.String(500), nullable=False),
        sa.Column("added_by", sa.String(128), nullable=False),
        sa.Column("added_at", TS, nullable=False),
        _group_fk("group_links"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_links")),
    )
    op.create_index(op.f("ix_group_links_group_id"), "group_links", ["group_id"])
    op.create_table(
        "notify_rules",
        sa.Column("id", IdType, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("events", sa.String(128), nullable=False),
        sa.Column("subsystem", sa.String(200)),
        sa.Column("bug_class", sa.String(64)),
        sa.Column("language", sa.String(16)),
        sa.Column("kernel_prefix", sa.String(64)),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.Column("window_s", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("target", sa.String(2000), nullable=False),
        sa.Column("secret", sa.String(128)),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notify_rules")),
    )
    op.create_table(
        "notify_events",
        sa.Column("id", IdType, autoincrement=True, nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("group_id", IdType, nullable=False),
        sa.Column("kernel", sa.String(128)),
        sa.Column("detail", sa.String(500), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notify_events")),
    )
    op.create_index(op.f("ix_notify_events_at"), "notify_events", ["at"])
    op.create_table(
        "notify_outbox",
        sa.Column("id", IdType, autoincrement=True, nullable=False),
        sa.Column("rule_id", IdType, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("due_at", TS, nullable=False),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("payload", JSONType, nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("last_status", sa.Integer()),
        sa.Column("last_answer", sa.String(500)),
        sa.Column("sent_at", TS),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["notify_rules.id"],
            ondelete="CASCADE",
            name=op.f("fk_notify_outbox_rule_id_notify_rules"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notify_outbox")),
    )
    op.create_index(op.f("ix_notify_outbox_rule_id"), "notify_outbox", ["rule_id"])
    op.create_index("ix_notify_outbox_state_due", "notify_outbox", ["state", "due_at"])
    op.create_table(
        "notify_attempts",
        sa.Column("id", IdType, autoincrement=True, nullable=False),
        sa.Column("outbox_id", IdType, nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("status", sa.Integer()),
        sa.Column("answer", sa.String(500), nullable=False),
        sa.ForeignKeyConstraint(
            ["outbox_id"],
            ["notify_outbox.id"],
            ondelete="CASCADE",
            name=op.f("fk_notify_attempts_outbox_id_notify_outbox"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notify_attempts")),
    )
    op.create_index(op.f("ix_notify_attempts_outbox_id"), "notify_attempts", ["outbox_id"])


def downgrade() -> None:
    for table in (
        "notify_attempts",
        "notify_outbox",
        "notify_events",
        "notify_rules",
        "group_links",
        "group_events",
        "group_subsystems",
        "group_triage",
    ):
        op.drop_table(table)
