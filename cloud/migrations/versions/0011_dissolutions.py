"""dissolutions: an institution's dissolution and the codes that confirm it

Revision ID: 0011
Revises: 0009
Create Date: 2026-11-30 22:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'dissolutions',
        sa.Column('institution_id', sa.String(36), sa.ForeignKey('institutions.id'),
                  primary_key=True),
        sa.Column('state', sa.String(8), nullable=False),
        sa.Column('asked_by', sa.String(120), nullable=False),
        sa.Column('verified_with', sa.String(120), nullable=False),
        sa.Column('asked_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('dissolve_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('revoked_by', sa.String(120), nullable=False),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        'dissolution_codes',
        sa.Column('id', sa.String(36), primary_key=True),
        sa.Column('institution_id', sa.String(36), sa.ForeignKey('institutions.id'),
                  nullable=False),
        sa.Column('account', sa.String(48), nullable=False),
        sa.Column('asked_by', sa.String(120), nullable=False),
        sa.Column('code_mac', sa.String(64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index('ix_dissolution_codes_institution_id', 'dissolution_codes',
                    ['institution_id'])


def downgrade() -> None:
    op.drop_index('ix_dissolution_codes_institution_id', 'dissolution_codes')
    op.drop_table('dissolution_codes')
    op.drop_table('dissolutions')
