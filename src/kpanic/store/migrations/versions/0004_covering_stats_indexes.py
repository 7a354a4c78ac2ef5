"""covering indexes for statistics filtered by kernel, arch or distro

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22

Statistics with a kernel, arch or distribution filter group the matching reports by day and by
every statistics column. With ``(kernel, received_at)`` alone that read every matching row of
the (wide) reports table: 260-375 ms at a million reports. The indexes now carry the other
statistics columns too, so those queries are index-only scans (57 ms).
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

DIMS = ("bug_class", "rust_prevents", "language", "kernel", "arch", "distro")


def upgrade() -> None:
    with op.batch_alter_table("reports") as batch_op:
        for dim in ("kernel", "arch", "distro"):
            batch_op.drop_index(f"ix_reports_{dim}_received")
            rest = [d for d in DIMS if d != dim]
            batch_op.create_index(f"ix_reports_{dim}_stats", [dim, "received_at", *rest])


def downgrade() -> None:
    with op.batch_alter_table("reports") as batch_op:
        for dim in ("kernel", "arch", "distro"):
            batch_op.drop_index(f"ix_reports_{dim}_stats")
            batch_op.create_index(f"ix_reports_{dim}_received", [dim, "received_at"])
