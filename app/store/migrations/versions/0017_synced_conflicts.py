"""The conflict list becomes a copy of the cloud's: decisions made here wait to be sent.

Conflicts this PC found by itself are dropped (the cloud found the same conflicts, or
the ones that settle the same writes, and they are copied again from the start);
decisions made here are sent to the cloud, which settles them for every PC.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("conflicts") as batch_op:
        batch_op.add_column(
            sa.Column("decision_sent", sa.Boolean(), nullable=False, server_default=sa.true())
        )
    op.execute("DELETE FROM conflicts WHERE resolved_at IS NULL")
    op.execute("UPDATE conflicts SET decision_sent = 0 WHERE resolution IN ('kept', 'other')")
    op.execute("DELETE FROM settings WHERE key = 'conflicts_cursor'")


def downgrade() -> None:
    with op.batch_alter_table("conflicts") as batch_op:
        batch_op.drop_column("decision_sent")
