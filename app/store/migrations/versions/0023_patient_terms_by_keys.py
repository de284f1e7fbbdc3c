"""The search index loses its index by patient number, and is built again once.

A patient's index rows are now found by the keys made of his stored values; an older
release may have made some terms differently (folding has changed over time), so every
row is made again from the stored values with today's rules.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

_BUILD_CACHE_KIB = 256 * 1024


def upgrade() -> None:
    from app.store.db import CACHE_KIB
    from app.store.patients.search_index import build_all

    op.drop_index("ix_patient_terms_num", table_name="patient_terms")
    conn = op.get_bind()
    conn.exec_driver_sql(f"PRAGMA cache_size = -{_BUILD_CACHE_KIB}")
    # In the index's own order: an append at its end (search_index.build_pending).
    build_all(conn)
    conn.exec_driver_sql(f"PRAGMA cache_size = -{CACHE_KIB}")


def downgrade() -> None:
    op.create_index("ix_patient_terms_num", "patient_terms", ["num"], unique=False)
