"""Records by their next visit date: the book shows the next visits due on its days.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_visits_next_visit", "visits", ["next_visit_date"])


def downgrade() -> None:
    op.drop_index("ix_visits_next_visit", table_name="visits")
