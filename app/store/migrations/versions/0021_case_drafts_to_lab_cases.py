"""Draft cases made from selected images (kept on their PC only) become lab cases.

Each draft becomes a lab case in draft, under the same id, its title as the case type,
its images attached; it is queued like a case written now, so that the practice's other
PCs see it, and it waits for a person to choose the lab and send it. The lab's rule
holds: the images of one kind all come from a single record. A draft whose images of
one kind were since spread over several records (an image moved) keeps those of the
record the first one picked is in, and its instructions say how many were left out.

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-30
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import sqlalchemy as sa
from alembic import op

from app.core.hlc import Clock, Timestamp
from app.core.ids import new_id, new_node_id
from app.core.wire import Mutation, validate

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

_FIELDS = ("patient_id", "lab_code", "lab_name", "case_type", "due_date", "instructions",
           "image_ids", "status", "status_note", "status_at", "status_by", "created_at",
           "created_by", "sent_at", "deleted")


def upgrade() -> None:
    conn = op.get_bind()
    drafts = conn.execute(sa.text(
        "SELECT id, patient_id, title, created_at, created_by, image_ids FROM case_drafts "
        "ORDER BY created_at, id")).mappings().all()
    if drafts:
        _convert(conn, drafts)
    op.drop_index("ix_case_drafts_patient_id", table_name="case_drafts")
    op.drop_table("case_drafts")


def kept_images(conn: sa.Connection, picked: list[str]) -> tuple[list[str], int]:
    """The picked images still on file, each kind from the record of its first pick;
    and how many were left out for that rule."""
    if not picked:
        return [], 0
    query = sa.text("SELECT id, kind, visit_id FROM record_images WHERE deleted = 0 AND id "
                    "IN :ids").bindparams(sa.bindparam("ids", expanding=True))
    rows = {r.id: r for r in conn.execute(query, {"ids": picked})}
    record_of: dict[str, str | None] = {}
    kept: list[str] = []
    for image_id in picked:
        row = rows.get(image_id)
        if row is None:
            continue
        if record_of.setdefault(row.kind, row.visit_id) == row.visit_id:
            kept.append(image_id)
    return kept, len(rows) - len(kept)


def _convert(conn: sa.Connection, drafts: Any) -> None:
    state = conn.execute(sa.text("SELECT node_id, last_hlc FROM sync_state WHERE id = 1")).first()
    if state is None:  # made before this database ever opened; the program would add it
        node = new_node_id()
        conn.execute(sa.text(
            "INSERT INTO sync_state (id, node_id, database_id, pull_cursor, remote_version) "
            "VALUES (1, :n, :d, 0, 0)"), {"n": node, "d": new_id()})
        last = None
    else:
        node, last = state.node_id, state.last_hlc
    clock = Clock(node, last=Timestamp.parse(last) if last else None)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    for d in drafts:
        picked = [str(i) for i in (json.loads(d["image_ids"] or "[]") or [])]
        kept, left_out = kept_images(conn, list(dict.fromkeys(picked)))
        note = None
        if left_out:
            note = (f"{left_out} picked image(s) left out: the images of one kind must "
                    "all come from a single record.")
        fields: dict[str, Any] = dict.fromkeys(_FIELDS)
        fields.update(patient_id=d["patient_id"], case_type=(d["title"] or "")[:500] or None,
                      instructions=note, image_ids=",".join(kept) or None, status="draft",
                      created_at=d["created_at"], created_by=d["created_by"], deleted=False)
        stamp = str(clock.now())
        m = Mutation(id=new_id(), entity="lab_case", entity_id=d["id"], node=node,
                     fields=fields, hlc=dict.fromkeys(fields, stamp), base=dict.fromkeys(fields))
        validate(m)
        row = {k: v for k, v in fields.items() if k != "deleted"}
        conn.execute(sa.text(
            "INSERT INTO lab_cases (id, stamps, deleted, " + ", ".join(row) + ") VALUES "
            "(:id, :stamps, 0, " + ", ".join(f":{k}" for k in row) + ")"),
            {"id": d["id"], "stamps": json.dumps({n: [stamp, None] for n in fields}), **row})
        conn.execute(sa.text(
            "INSERT INTO outbox (mutation_id, entity, entity_id, patient_id, payload, created_at, "
            "attempts, status) VALUES (:mid, 'lab_case', :eid, :pid, :p, :now, 0, 'pending')"),
            {"mid": m.id, "eid": d["id"], "pid": d["patient_id"], "p": json.dumps(m.to_wire()),
             "now": now})
    conn.execute(sa.text("UPDATE sync_state SET last_hlc = :h WHERE id = 1"),
                 {"h": str(clock.last)})


def downgrade() -> None:
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
    op.create_index("ix_case_drafts_patient_id", "case_drafts", ["patient_id"])
