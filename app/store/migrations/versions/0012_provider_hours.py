"""Providers' working hours: one synced row per provider, a span per weekday.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def upgrade() -> None:
    op.create_table(
        "provider_hours",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("stamps", sa.JSON(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=True),
        *[sa.Column(day, sa.String(length=500), nullable=True) for day in DAYS],
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_provider_hours_user_id", "provider_hours", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_provider_hours_user_id", table_name="provider_hours")
    op.drop_table("provider_hours")
