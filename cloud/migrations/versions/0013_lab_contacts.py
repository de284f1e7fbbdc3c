"""lab contacts: where a lab administrator's one-time codes go

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 22:55:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'lab_contacts',
        sa.Column('member_id', sa.String(36),
                  sa.ForeignKey('lab_members.id', ondelete='CASCADE'), primary_key=True),
        sa.Column('email', sa.String(320), nullable=False),
        sa.Column('mobile', sa.String(32), nullable=False),
    )


def downgrade() -> None:
    op.drop_table('lab_contacts')
