"""A record's billing choices from the offline-images wizard: the charge posted for
the procedure and whether it is billed to the patient's insurance.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("visits") as batch:
        batch.add_column(sa.Column("charge", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("bill_insurance", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("visits") as batch:
        batch.drop_column("bill_insurance")
        batch.drop_column("charge")
