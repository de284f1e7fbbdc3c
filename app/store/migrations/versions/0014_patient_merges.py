"""Merges of duplicate patients and the rows each moved (synced, so that any PC can
undo one for 30 days).

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def _synced() -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("stamps", sa.JSON(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    ]


def upgrade() -> None:
    op.create_table(
        "patient_merges",
        sa.Column("kept_id", sa.String(length=36), nullable=False),
        sa.Column("merged_ids", sa.Text(), nullable=False),
        sa.Column("merged_at", sa.String(length=32), nullable=False),
        sa.Column("merged_by", sa.String(length=36), nullable=True),
        sa.Column("undone_at", sa.String(length=32), nullable=True),
        sa.Column("undone_by", sa.String(length=36), nullable=True),
        *_synced(),
    )
    op.create_index("ix_patient_merges_kept_id", "patient_merges", ["kept_id"])
    op.create_table(
        "merge_moves",
        sa.Column("merge_id", sa.String(length=36), nullable=False),
        sa.Column("row_entity", sa.String(length=32), nullable=False),
        sa.Column("row_id", sa.String(length=36), nullable=False),
        sa.Column("from_patient_id", sa.String(length=36), nullable=False),
        *_synced(),
    )
    op.create_index("ix_merge_moves_merge_id", "merge_moves", ["merge_id"])


def downgrade() -> None:
    op.drop_index("ix_merge_moves_merge_id", table_name="merge_moves")
    op.drop_table("merge_moves")
    op.drop_index("ix_patient_merges_kept_id", table_name="patient_merges")
    op.drop_table("patient_merges")
