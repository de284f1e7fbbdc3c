"""The appointment book: chairs, and appointments placed in a chair with a note and
who set their status when (a cancellation keeps its reason).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "chairs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("stamps", sa.JSON(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("appointments") as batch:
        batch.add_column(sa.Column("chair_id", sa.String(length=36), nullable=True))
        batch.add_column(sa.Column("note", sa.Text(), nullable=True))
        batch.add_column(sa.Column("status_at", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("status_by", sa.String(length=36), nullable=True))
        batch.add_column(sa.Column("cancel_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("appointments") as batch:
        for name in ("cancel_reason", "status_by", "status_at", "note", "chair_id"):
            batch.drop_column(name)
    op.drop_table("chairs")
