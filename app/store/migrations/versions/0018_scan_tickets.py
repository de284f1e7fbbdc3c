"""Scan tickets: a synced row per scan to take of a patient.

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scan_tickets",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("stamps", sa.JSON(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("patient_id", sa.String(length=36), nullable=False),
        sa.Column("scan_type", sa.String(length=20), nullable=False),
        sa.Column("case_type", sa.String(length=500), nullable=True),
        sa.Column("visit_type", sa.String(length=500), nullable=True),
        sa.Column("doctor_id", sa.String(length=36), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.String(length=32), nullable=True),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("status_at", sa.String(length=32), nullable=True),
        sa.Column("status_by", sa.String(length=36), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_scan_tickets_patient_id", "scan_tickets", ["patient_id"])


def downgrade() -> None:
    op.drop_index("ix_scan_tickets_patient_id", table_name="scan_tickets")
    op.drop_table("scan_tickets")
