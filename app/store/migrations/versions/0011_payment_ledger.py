"""Payments as ledger entries of the patient's account: whose, how, who took it, optionally
against an agreement; voided with a reason (kept) or corrected by a new entry.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("payments") as batch:
        batch.alter_column("agreement_id", existing_type=sa.String(length=36), nullable=True)
        batch.add_column(sa.Column("patient_id", sa.String(length=36), nullable=True))
        batch.add_column(sa.Column("method", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("taken_by", sa.String(length=36), nullable=True))
        batch.add_column(sa.Column("taken_by_name", sa.String(length=500), nullable=True))
        batch.add_column(sa.Column("void_reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("voided_by", sa.String(length=36), nullable=True))
        batch.add_column(sa.Column("corrects", sa.String(length=36), nullable=True))
        batch.create_index("ix_payments_patient", ["patient_id", "paid_on"])
        batch.create_index("ix_payments_paid_on", ["paid_on"])
    # Payments taken before the ledger were all against an agreement: they belong to its
    # patient.
    op.execute(
        "UPDATE payments SET patient_id = (SELECT agreements.patient_id FROM agreements "
        "WHERE agreements.id = payments.agreement_id) WHERE patient_id IS NULL"
    )


def downgrade() -> None:
    # agreement_id stays nullable: payments on the account alone have none.
    with op.batch_alter_table("payments") as batch:
        batch.drop_index("ix_payments_paid_on")
        batch.drop_index("ix_payments_patient")
        for name in (
            "corrects",
            "voided_by",
            "void_reason",
            "taken_by_name",
            "taken_by",
            "method",
            "patient_id",
        ):
            batch.drop_column(name)
