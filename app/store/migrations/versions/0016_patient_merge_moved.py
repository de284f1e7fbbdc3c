"""How many rows a merge of patients moved, so that a PC undoes it only once all of its
moves have arrived.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("patient_merges") as batch:
        batch.add_column(sa.Column("moved", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("patient_merges") as batch:
        batch.drop_column("moved")
