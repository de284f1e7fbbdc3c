"""The sync agent publishes which build it runs, so the app can replace an old one.

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN: a batch would copy the table and leave free pages behind.
    op.add_column("agent_state", sa.Column("build", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("agent_state") as batch:
        batch.drop_column("build")
