"""synced conflicts: a version order for PCs to copy the list, and the decision

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 19:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('installations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('conflict_version', sa.BigInteger(), nullable=False,
                                      server_default='0'))
    with op.batch_alter_table('conflicts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('resolution', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('version', sa.BigInteger(), nullable=True))
    # Conflicts found so far keep their order: their ids, within each installation.
    op.execute("UPDATE conflicts SET version = id")
    op.execute("UPDATE installations SET conflict_version = COALESCE((SELECT MAX(c.id) FROM "
               "conflicts c WHERE c.installation_id = installations.id), 0)")
    with op.batch_alter_table('conflicts', schema=None) as batch_op:
        batch_op.alter_column('version', existing_type=sa.BigInteger(), nullable=False)
        batch_op.create_index('ix_conflicts_version', ['installation_id', 'version'],
                              unique=False)
        batch_op.create_index('ix_conflicts_entity', ['installation_id', 'entity_id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('conflicts', schema=None) as batch_op:
        batch_op.drop_index('ix_conflicts_entity')
        batch_op.drop_index('ix_conflicts_version')
        batch_op.drop_column('version')
        batch_op.drop_column('resolution')
    with op.batch_alter_table('installations', schema=None) as batch_op:
        batch_op.drop_column('conflict_version')
