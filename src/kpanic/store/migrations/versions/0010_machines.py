"""distinct machines: a pseudonymous machine hash per report, a distinct-machine count per group

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03

A client may send an app-specific machine id (``kpanic submit`` derives one from
/etc/machine-id the way systemd's sd_id128_get_machine_app_specific does); the service stores
only ``HMAC(installation secret, id)`` in ``reports.machine`` and keeps a counter of distinct
machines per group (sort and show "affected machines", issue 13). Existing reports have none.
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("reports") as batch_op:
        batch_op.add_column(sa.Column("machine", sa.String(length=32), nullable=True))
        batch_op.create_index("ix_reports_group_machine", ["group_id", "machine"])
    with op.batch_alter_table("crash_groups") as batch_op:
        batch_op.add_column(
            sa.Column("machine_count", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.create_index("ix_crash_groups_machine_count", ["machine_count"])


def downgrade() -> None:
    with op.batch_alter_table("crash_groups") as batch_op:
        batch_op.drop_index("ix_crash_groups_machine_count")
        batch_op.drop_column("machine_count")
    with op.batch_alter_table("reports") as batch_op:
        batch_op.drop_index("ix_reports_group_machine")
        batch_op.drop_column("machine")
