"""data migration between institutions: verification codes, migrations, moved rows

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 22:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'migration_codes',
        sa.Column('id', sa.String(36), primary_key=True),
        sa.Column('institution_id', sa.String(36), sa.ForeignKey('institutions.id'),
                  nullable=False),
        sa.Column('code_hash', sa.String(64), nullable=False, unique=True),
        sa.Column('created_by', sa.String(120), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index('ix_migration_codes_institution_id', 'migration_codes',
                    ['institution_id'])
    op.create_table(
        'migrations',
        sa.Column('id', sa.String(36), primary_key=True),
        sa.Column('source_id', sa.String(36), sa.ForeignKey('institutions.id'), nullable=False),
        sa.Column('target_id', sa.String(36), sa.ForeignKey('institutions.id'), nullable=False),
        sa.Column('status', sa.String(10), nullable=False),
        sa.Column('reason', sa.String(500), nullable=False),
        sa.Column('requested_by', sa.String(120), nullable=False),
        sa.Column('moved', sa.Integer(), nullable=False),
        sa.Column('images', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index('ix_migrations_source_id', 'migrations', ['source_id'])
    op.create_index('ix_migrations_target_id', 'migrations', ['target_id'])
    op.create_table(
        'moved_rows',
        sa.Column('entity_id', sa.String(36), primary_key=True),
        sa.Column('from_installation_id', sa.String(32), nullable=False),
        sa.Column('to_installation_id', sa.String(32), nullable=False),
        sa.Column('migration_id', sa.String(36), sa.ForeignKey('migrations.id'),
                  nullable=False),
        sa.Column('hlc', sa.String(40), nullable=False),
    )
    op.create_index('ix_moved_rows_from_installation_id', 'moved_rows',
                    ['from_installation_id'])


def downgrade() -> None:
    op.drop_table('moved_rows')
    op.drop_table('migrations')
    op.drop_table('migration_codes')
