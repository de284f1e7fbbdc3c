"""Patient search: display order and prefix buckets, filled for existing patients.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from app.core.text import digits, sort_key

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("patients") as batch:
        batch.add_column(sa.Column("sort_key", sa.String(1100), nullable=False, server_default=""))
        batch.add_column(
            sa.Column("phone_digits", sa.String(100), nullable=False, server_default="")
        )
        batch.create_index("ix_patients_sort", ["sort_key", "num"])
    op.create_table(
        "patient_terms",
        sa.Column("pfx", sa.String(length=3), nullable=False),
        sa.Column("sort_key", sa.String(length=1100), nullable=False),
        sa.Column("num", sa.Integer(), nullable=False),
        sa.Column("term", sa.String(length=500), nullable=False),
        sa.PrimaryKeyConstraint("pfx", "sort_key", "num", "term"),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_patient_terms_num", "patient_terms", ["num"], unique=False)
    _backfill()


def _backfill() -> None:
    from app.store.patients.search_index import rows_for

    conn = op.get_bind()
    patients = conn.execute(sa.text("SELECT * FROM patients")).mappings().all()
    terms = []
    for row in patients:
        p = dict(row)
        p["sort_key"] = sort_key(p["first_name"], p["last_name"])
        p["phone_digits"] = " ".join(x for x in (digits(p["mobile"]), digits(p["landline"])) if x)
        conn.execute(
            sa.text("UPDATE patients SET sort_key = :s, phone_digits = :d WHERE id = :id"),
            {"s": p["sort_key"], "d": p["phone_digits"], "id": p["id"]},
        )
        terms.extend(rows_for(_Row(p)))
    if terms:
        conn.execute(
            sa.text(
                "INSERT INTO patient_terms (pfx, sort_key, num, term) "
                "VALUES (:pfx, :sort_key, :num, :term)"
            ),
            terms,
        )


class _Row:
    def __init__(self, data: dict) -> None:
        self.__dict__.update(data)


def downgrade() -> None:
    op.drop_index("ix_patient_terms_num", table_name="patient_terms")
    op.drop_table("patient_terms")
    with op.batch_alter_table("patients") as batch:
        batch.drop_index("ix_patients_sort")
        batch.drop_column("phone_digits")
        batch.drop_column("sort_key")
