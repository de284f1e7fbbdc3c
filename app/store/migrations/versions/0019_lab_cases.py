"""Lab cases: a synced order to a connected lab, with images attached.

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lab_cases",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("stamps", sa.JSON(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("patient_id", sa.String(length=36), nullable=False),
        sa.Column("lab_code", sa.String(length=500), nullable=True),
        sa.Column("lab_name", sa.String(length=500), nullable=True),
        sa.Column("case_type", sa.String(length=500), nullable=True),
        sa.Column("due_date", sa.String(length=10), nullable=True),
        sa.Column("instructions", sa.Text(), nullable=True),
        sa.Column("image_ids", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("status_note", sa.Text(), nullable=True),
        sa.Column("status_at", sa.String(length=32), nullable=True),
        sa.Column("status_by", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.String(length=32), nullable=True),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("sent_at", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_lab_cases_patient_id", "lab_cases", ["patient_id"])


def downgrade() -> None:
    op.drop_index("ix_lab_cases_patient_id", table_name="lab_cases")
    op.drop_table("lab_cases")
