"""Patients by card number and by each phone: a search for one exact card number or
phone number shows that patient first, found without reading the search index.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

_INDEXES = (
    ("ix_patients_card", "card_number"),
    ("ix_patients_mobile", "mobile"),
    ("ix_patients_landline", "landline"),
)


def upgrade() -> None:
    # Built once over the practice's patients (seconds for a million), behind the
    # "Opening the practice database…" dialog like every migration.
    for name, column in _INDEXES:
        op.create_index(name, "patients", [column])


def downgrade() -> None:
    for name, _column in _INDEXES:
        op.drop_index(name, table_name="patients")
