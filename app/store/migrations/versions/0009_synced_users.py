"""Program users become practice data: synced like every other record.

Each existing user gets the stamps and outbox entry of a change made now, so that a
practice's PCs converge without anyone acting: users that exist on one PC appear on
the others, and the same username made on two PCs becomes one user as they sync
(app.store.users.users_merge). The username is unique only among users not merged away.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""

from __future__ import annotations

import datetime as dt
import json

import sqlalchemy as sa
from alembic import op

from app.core.hlc import Clock, Timestamp
from app.core.ids import new_id, new_node_id
from app.core.wire import Mutation, validate

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_FIELDS = ("username", "display_name", "role", "active", "password_hash", "merged_into",
           "created_at", "updated_at")


def upgrade() -> None:
    op.create_table(
        "users_new",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("stamps", sa.JSON(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("merged_into", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.String(length=32), nullable=True),
        sa.Column("updated_at", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.execute(
        "INSERT INTO users_new (id, stamps, deleted, username, display_name, password_hash, "
        "role, active) SELECT id, '{}', 0, username, display_name, password_hash, role, active "
        "FROM users"
    )
    op.drop_table("users")
    op.rename_table("users_new", "users")
    op.create_index("ix_users_username", "users", ["username"])
    _queue_existing(op.get_bind())


def _queue_existing(conn: sa.Connection) -> None:
    users = conn.execute(sa.text(
        "SELECT id, username, display_name, role, active, password_hash FROM users ORDER BY id"
    )).mappings().all()
    if not users:
        return
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
    for u in users:
        stamp = str(clock.now())
        fields = {"username": u["username"], "display_name": u["display_name"],
                  "role": u["role"], "active": bool(u["active"]),
                  "password_hash": u["password_hash"], "merged_into": None,
                  "created_at": None, "updated_at": now}
        m = Mutation(id=new_id(), entity="user", entity_id=u["id"], node=node, fields=fields,
                     hlc=dict.fromkeys(fields, stamp), base=dict.fromkeys(fields))
        validate(m)
        conn.execute(sa.text("UPDATE users SET stamps = :s, updated_at = :now WHERE id = :id"), {
            "s": json.dumps({n: [stamp, None] for n in _FIELDS}), "now": now, "id": u["id"]})
        conn.execute(sa.text(
            "INSERT INTO outbox (mutation_id, entity, entity_id, patient_id, payload, created_at, "
            "attempts, status) VALUES (:mid, 'user', :eid, NULL, :p, :now, 0, 'pending')"),
            {"mid": m.id, "eid": u["id"], "p": json.dumps(m.to_wire()), "now": now})
    conn.execute(sa.text("UPDATE sync_state SET last_hlc = :h WHERE id = 1"),
                 {"h": str(clock.last)})


def downgrade() -> None:
    op.drop_index("ix_users_username", table_name="users")
    op.create_table(
        "users_old",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("username"),
    )
    op.execute(
        "INSERT INTO users_old (id, username, display_name, password_hash, role, active) "
        "SELECT id, username, display_name, password_hash, role, active FROM users "
        "WHERE merged_into IS NULL"
    )
    op.drop_table("users")
    op.rename_table("users_old", "users")
