"""The sync agent's tables: its published state, requests from the app, the conflict
inbox, the upload queue, and the pull cursor.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('agent_requests',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.String(length=32), nullable=False),
    sa.Column('taken_at', sa.String(length=32), nullable=True),
    sa.Column('done_at', sa.String(length=32), nullable=True),
    sa.Column('result', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('agent_state',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=True),
    sa.Column('started_at', sa.String(length=32), nullable=True),
    sa.Column('heartbeat_at', sa.String(length=32), nullable=True),
    sa.Column('stopped_at', sa.String(length=32), nullable=True),
    sa.Column('online', sa.Boolean(), nullable=False),
    sa.Column('waiting_changes', sa.Integer(), nullable=False),
    sa.Column('waiting_uploads', sa.Integer(), nullable=False),
    sa.Column('waiting_bytes', sa.Integer(), nullable=False),
    sa.Column('current_upload', sa.String(length=500), nullable=True),
    sa.Column('upload_done', sa.Integer(), nullable=False),
    sa.Column('upload_total', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('last_sync_at', sa.String(length=32), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('conflicts',
    sa.Column('key', sa.String(length=32), nullable=False),
    sa.Column('entity', sa.String(length=32), nullable=False),
    sa.Column('entity_id', sa.String(length=36), nullable=False),
    sa.Column('field', sa.String(length=64), nullable=False),
    sa.Column('winner_value', sa.JSON(), nullable=False),
    sa.Column('winner_hlc', sa.String(length=40), nullable=False),
    sa.Column('loser_value', sa.JSON(), nullable=False),
    sa.Column('loser_hlc', sa.String(length=40), nullable=False),
    sa.Column('found_at', sa.String(length=32), nullable=False),
    sa.Column('resolved_at', sa.String(length=32), nullable=True),
    sa.Column('resolution', sa.String(length=10), nullable=True),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_index(op.f('ix_conflicts_entity_id'), 'conflicts', ['entity_id'], unique=False)
    op.create_table('uploads',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('path', sa.Text(), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.String(length=36), nullable=True),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('url', sa.Text(), nullable=True),
    sa.Column('offset', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.String(length=32), nullable=False),
    sa.Column('done_at', sa.String(length=32), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('sha256')
    )
    op.create_index(op.f('ix_uploads_patient_id'), 'uploads', ['patient_id'], unique=False)
    with op.batch_alter_table("sync_state") as batch:
        batch.add_column(
            sa.Column("pull_cursor", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(
            sa.Column("remote_version", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("sync_state") as batch:
        batch.drop_column("remote_version")
        batch.drop_column("pull_cursor")
    op.drop_index(op.f("ix_uploads_patient_id"), table_name="uploads")
    op.drop_table("uploads")
    op.drop_index(op.f("ix_conflicts_entity_id"), table_name="conflicts")
    op.drop_table("conflicts")
    op.drop_table("agent_state")
    op.drop_table("agent_requests")
