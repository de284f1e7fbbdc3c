"""Scan tickets name the scans filed for them.

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("scan_tickets") as batch:
        batch.add_column(sa.Column("image_ids", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("scan_tickets") as batch:
        batch.drop_column("image_ids")
