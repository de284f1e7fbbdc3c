"""The practice database: settings, users, patients, visits, appointments, agreements,
payments, the outbox and this replica's sync state.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('outbox',
    sa.Column('seq', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('mutation_id', sa.String(length=36), nullable=False),
    sa.Column('entity', sa.String(length=32), nullable=False),
    sa.Column('entity_id', sa.String(length=36), nullable=False),
    sa.Column('patient_id', sa.String(length=36), nullable=True),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.String(length=32), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('seq'),
    sa.UniqueConstraint('mutation_id')
    )
    op.create_index(op.f('ix_outbox_patient_id'), 'outbox', ['patient_id'], unique=False)
    op.create_table('patients',
    sa.Column('num', sa.Integer(), nullable=False),
    sa.Column('first_name', sa.String(length=500), nullable=False),
    sa.Column('last_name', sa.String(length=500), nullable=True),
    sa.Column('gender', sa.String(length=10), nullable=False),
    sa.Column('birth_date', sa.String(length=10), nullable=True),
    sa.Column('mobile', sa.String(length=500), nullable=True),
    sa.Column('landline', sa.String(length=500), nullable=True),
    sa.Column('id_number', sa.String(length=500), nullable=True),
    sa.Column('insurance_card_number', sa.String(length=500), nullable=True),
    sa.Column('email', sa.String(length=500), nullable=True),
    sa.Column('address', sa.Text(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('card_number', sa.String(length=500), nullable=True),
    sa.Column('responsible_user_id', sa.String(length=36), nullable=True),
    sa.Column('case_types', sa.String(length=500), nullable=True),
    sa.Column('past_medical_history', sa.Text(), nullable=True),
    sa.Column('diseases', sa.Text(), nullable=True),
    sa.Column('medications', sa.Text(), nullable=True),
    sa.Column('oral_habits', sa.Text(), nullable=True),
    sa.Column('allergies', sa.Text(), nullable=True),
    sa.Column('provisional', sa.Boolean(), nullable=False),
    sa.Column('merged_into', sa.String(length=36), nullable=True),
    sa.Column('updated_at', sa.String(length=32), nullable=True),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('stamps', sa.JSON(), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('num')
    )
    op.create_index(op.f('ix_patients_responsible_user_id'), 'patients', ['responsible_user_id'], unique=False)
    op.create_table('settings',
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('value', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('sync_state',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('node_id', sa.String(length=16), nullable=False),
    sa.Column('last_hlc', sa.String(length=40), nullable=True),
    sa.Column('database_id', sa.String(length=36), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('users',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('username', sa.String(length=100), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=10), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('username')
    )
    op.create_table('agreements',
    sa.Column('patient_id', sa.String(length=36), nullable=False),
    sa.Column('title', sa.String(length=500), nullable=True),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('discount', sa.Integer(), nullable=False),
    sa.Column('tax', sa.Integer(), nullable=False),
    sa.Column('expires_on', sa.String(length=10), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('stamps', sa.JSON(), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_agreements_patient_id'), 'agreements', ['patient_id'], unique=False)
    op.create_table('appointments',
    sa.Column('patient_id', sa.String(length=36), nullable=False),
    sa.Column('starts_at', sa.String(length=32), nullable=False),
    sa.Column('duration_minutes', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('doctor_id', sa.String(length=36), nullable=True),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('stamps', sa.JSON(), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_appointments_patient', 'appointments', ['patient_id', 'starts_at'], unique=False)
    op.create_index('ix_appointments_starts', 'appointments', ['starts_at'], unique=False)
    op.create_table('visits',
    sa.Column('patient_id', sa.String(length=36), nullable=False),
    sa.Column('visit_date', sa.String(length=10), nullable=False),
    sa.Column('name', sa.String(length=500), nullable=True),
    sa.Column('procedure', sa.Text(), nullable=True),
    sa.Column('amount_paid', sa.Integer(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('next_visit_date', sa.String(length=10), nullable=True),
    sa.Column('next_visit_minutes', sa.Integer(), nullable=True),
    sa.Column('doctor_id', sa.String(length=36), nullable=True),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('stamps', sa.JSON(), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_visits_date', 'visits', ['visit_date'], unique=False)
    op.create_index('ix_visits_patient_date', 'visits', ['patient_id', 'visit_date'], unique=False)
    op.create_table('payments',
    sa.Column('agreement_id', sa.String(length=36), nullable=False),
    sa.Column('paid_on', sa.String(length=10), nullable=False),
    sa.Column('amount', sa.Integer(), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('stamps', sa.JSON(), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['agreement_id'], ['agreements.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_payments_agreement_id'), 'payments', ['agreement_id'], unique=False)


def downgrade() -> None:
    op.drop_table('payments')
    op.drop_table('visits')
    op.drop_table('appointments')
    op.drop_table('agreements')
    op.drop_table('users')
    op.drop_table('sync_state')
    op.drop_table('settings')
    op.drop_table('patients')
    op.drop_table('outbox')
