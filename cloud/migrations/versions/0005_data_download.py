"""data download: groups, contacts, one-time codes, downloads

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 19:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

JSONType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        'access_groups',
        sa.Column('id', sa.String(36), primary_key=True),
        sa.Column('installation_id', sa.String(32), sa.ForeignKey('installations.id'),
                  nullable=False),
        sa.Column('name', sa.String(100), nullable=False),
        sa.Column('permissions', JSONType, nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint('installation_id', 'name', name='uq_access_groups_name'),
    )
    op.create_index('ix_access_groups_installation_id', 'access_groups', ['installation_id'])
    op.create_table(
        'access_group_members',
        sa.Column('group_id', sa.String(36),
                  sa.ForeignKey('access_groups.id', ondelete='CASCADE'), primary_key=True),
        sa.Column('member', sa.String(48), primary_key=True),
    )
    op.create_table(
        'member_contacts',
        sa.Column('installation_id', sa.String(32), sa.ForeignKey('installations.id'),
                  primary_key=True),
        sa.Column('member', sa.String(48), primary_key=True),
        sa.Column('email', sa.String(320), nullable=False),
        sa.Column('mobile', sa.String(32), nullable=False),
        sa.Column('verified_at', sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        'download_codes',
        sa.Column('id', sa.String(36), primary_key=True),
        sa.Column('installation_id', sa.String(32), sa.ForeignKey('installations.id'),
                  nullable=False),
        sa.Column('member', sa.String(48), nullable=False),
        sa.Column('code_mac', sa.String(64), nullable=False),
        sa.Column('run_on', sa.Date(), nullable=False),
        sa.Column('sealed_password', sa.String(400), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index('ix_download_codes_installation_id', 'download_codes', ['installation_id'])
    op.create_index('ix_download_codes_member', 'download_codes', ['member'])
    op.create_table(
        'data_downloads',
        sa.Column('id', sa.String(36), primary_key=True),
        sa.Column('installation_id', sa.String(32), sa.ForeignKey('installations.id'),
                  nullable=False),
        sa.Column('member', sa.String(48), nullable=False),
        sa.Column('member_name', sa.String(120), nullable=False),
        sa.Column('run_on', sa.Date(), nullable=False),
        sa.Column('run_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('status', sa.String(16), nullable=False),
        sa.Column('sealed_password', sa.String(400), nullable=True),
        sa.Column('file_name', sa.String(200), nullable=False),
        sa.Column('size', sa.BigInteger(), nullable=False),
        sa.Column('rows', JSONType, nullable=False),
        sa.Column('error', sa.String(400), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('ready_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('retrieved_at', sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index('ix_data_downloads_installation_id', 'data_downloads', ['installation_id'])
    op.create_index('ix_data_downloads_member', 'data_downloads', ['member'])


def downgrade() -> None:
    op.drop_table('data_downloads')
    op.drop_table('download_codes')
    op.drop_table('member_contacts')
    op.drop_table('access_group_members')
    op.drop_table('access_groups')
