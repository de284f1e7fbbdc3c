"""Search as you type reads less: the patient list's index holds every column the list
shows, and the search index's longer terms are also kept in term order.

- ix_patients_list, in display order, now holds the list's columns too: a page of
  results comes from a few neighbouring index pages, not from fifty table rows spread
  over a table that also holds notes and histories;
- ix_patient_terms_term: each term of three characters or more, once (names are also in
  the 1- and 2-character buckets; the index takes those of the 3-character ones), in
  term order: a long query that few patients match reads just its matches, where its
  prefix bucket, read in display order, would pass thousands of other terms first.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

_LIST = ["sort_key", "num", "deleted", "merged_into", "phone_digits"]
_SHOWN = ["id", "first_name", "last_name", "gender", "birth_date", "mobile", "email",
          "card_number"]


def upgrade() -> None:
    # Built behind the "Opening the practice database…" dialog like every migration:
    # about half a minute for a million patients.
    op.drop_index("ix_patients_list", table_name="patients")
    op.create_index("ix_patients_list", "patients", [*_LIST, *_SHOWN])
    op.create_index(
        "ix_patient_terms_term",
        "patient_terms",
        ["term", "sort_key", "num"],
        sqlite_where=sa.text("length(pfx) = 3"),
    )


def downgrade() -> None:
    op.drop_index("ix_patient_terms_term", table_name="patient_terms")
    op.drop_index("ix_patients_list", table_name="patients")
    op.create_index("ix_patients_list", "patients", _LIST)
