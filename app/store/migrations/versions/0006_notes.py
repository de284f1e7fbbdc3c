"""Notes sent from the web portal (synced), and which were dismissed on this PC.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notes",
        sa.Column("patient_id", sa.String(length=36), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("author", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("stamps", sa.JSON(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_notes_patient", "notes", ["patient_id", "created_at"])
    op.create_table(
        "note_reads",
        sa.Column("note_id", sa.String(length=36), nullable=False),
        sa.Column("read_at", sa.String(length=32), nullable=False),
        sa.Column("read_by", sa.String(length=36), nullable=True),
        sa.PrimaryKeyConstraint("note_id"),
    )


def downgrade() -> None:
    op.drop_table("note_reads")
    op.drop_index("ix_notes_patient", table_name="notes")
    op.drop_table("notes")
