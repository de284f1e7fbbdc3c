"""Patient list: covering indexes in display order, for everyone and per doctor.

The list and search as you type read patients in display order and test whether each
one is live, belongs to the viewer and has a phone containing the typed digits. With
those columns in the index, SQLite answers from the index alone and reads table rows
only for the page it shows.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

LIST = ["sort_key", "num", "deleted", "merged_into", "phone_digits"]


def upgrade() -> None:
    op.drop_index("ix_patients_sort", table_name="patients")
    op.drop_index("ix_patients_responsible_user_id", table_name="patients")
    op.create_index("ix_patients_list", "patients", LIST)
    op.create_index("ix_patients_owner_list", "patients", ["responsible_user_id", *LIST])


def downgrade() -> None:
    op.drop_index("ix_patients_owner_list", table_name="patients")
    op.drop_index("ix_patients_list", table_name="patients")
    op.create_index("ix_patients_responsible_user_id", "patients", ["responsible_user_id"])
    op.create_index("ix_patients_sort", "patients", ["sort_key", "num"])
