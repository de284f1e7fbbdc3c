"""Images in records (synced), lab case drafts and the acquisition folder's state
(local to this PC).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "record_images",
        sa.Column("patient_id", sa.String(length=36), nullable=False),
        sa.Column("visit_id", sa.String(length=36), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=500), nullable=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("taken_at", sa.String(length=32), nullable=True),
        sa.Column("series_uid", sa.String(length=500), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("stamps", sa.JSON(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_record_images_patient", "record_images", ["patient_id", "taken_at"])
    op.create_index("ix_record_images_sha", "record_images", ["sha256"])
    op.create_table(
        "case_drafts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("patient_id", sa.String(length=36), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.Column("created_by", sa.String(length=36), nullable=True),
        sa.Column("image_ids", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_case_drafts_patient_id"), "case_drafts", ["patient_id"])
    op.create_table(
        "acquisition_context",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.String(length=36), nullable=True),
        sa.Column("visit_id", sa.String(length=36), nullable=True),
        sa.Column("started_at", sa.String(length=32), nullable=True),
        sa.Column("started_by", sa.String(length=36), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "acquisition_items",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("filename", sa.String(length=500), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("mtime_ns", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("dicom_patient", sa.String(length=500), nullable=True),
        sa.Column("dicom_birth_date", sa.String(length=10), nullable=True),
        sa.Column("series_uid", sa.String(length=500), nullable=True),
        sa.Column("taken_at", sa.String(length=32), nullable=True),
        sa.Column("patient_id", sa.String(length=36), nullable=True),
        sa.Column("image_id", sa.String(length=36), nullable=True),
        sa.Column("found_at", sa.String(length=32), nullable=False),
        sa.Column("done_at", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    for column in ("source", "sha256", "status"):
        op.create_index(
            op.f(f"ix_acquisition_items_{column}"), "acquisition_items", [column]
        )


def downgrade() -> None:
    op.drop_table("acquisition_items")
    op.drop_table("acquisition_context")
    op.drop_index(op.f("ix_case_drafts_patient_id"), table_name="case_drafts")
    op.drop_table("case_drafts")
    op.drop_index("ix_record_images_sha", table_name="record_images")
    op.drop_index("ix_record_images_patient", table_name="record_images")
    op.drop_table("record_images")
