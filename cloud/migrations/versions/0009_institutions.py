"""institutions: clinics and labs, lab members, connection requests, lab sessions

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 20:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'institutions',
        sa.Column('id', sa.String(36), primary_key=True),
        sa.Column('code', sa.String(12), nullable=False, unique=True),
        sa.Column('type', sa.String(8), nullable=False),
        sa.Column('name', sa.String(120), nullable=False),
        sa.Column('region', sa.String(8), nullable=False),
        sa.Column('auto_review', sa.Boolean(), nullable=False),
        sa.Column('installation_id', sa.String(32), sa.ForeignKey('installations.id'),
                  nullable=True, unique=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        'lab_members',
        sa.Column('id', sa.String(36), primary_key=True),
        sa.Column('institution_id', sa.String(36), sa.ForeignKey('institutions.id'),
                  nullable=False),
        sa.Column('name', sa.String(64), nullable=False),
        sa.Column('role', sa.String(8), nullable=False),
        sa.Column('password_hash', sa.String(200), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint('institution_id', 'name', name='uq_lab_members_name'),
    )
    op.create_index('ix_lab_members_institution_id', 'lab_members', ['institution_id'])
    op.create_table(
        'connection_requests',
        sa.Column('id', sa.String(36), primary_key=True),
        sa.Column('lab_id', sa.String(36), sa.ForeignKey('institutions.id'), nullable=False),
        sa.Column('clinic_id', sa.String(36), sa.ForeignKey('institutions.id'),
                  nullable=False),
        sa.Column('state', sa.String(10), nullable=False),
        sa.Column('requested_by', sa.String(120), nullable=False),
        sa.Column('decided_by', sa.String(120), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index('ix_connection_requests_lab_id', 'connection_requests', ['lab_id'])
    op.create_index('ix_connection_requests_clinic_id', 'connection_requests', ['clinic_id'])
    op.create_table(
        'lab_sessions',
        sa.Column('token_hash', sa.String(64), primary_key=True),
        sa.Column('member_id', sa.String(36),
                  sa.ForeignKey('lab_members.id', ondelete='CASCADE'), nullable=False),
        sa.Column('csrf', sa.String(64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index('ix_lab_sessions_member_id', 'lab_sessions', ['member_id'])


def downgrade() -> None:
    op.drop_table('lab_sessions')
    op.drop_table('connection_requests')
    op.drop_table('lab_members')
    op.drop_table('institutions')
