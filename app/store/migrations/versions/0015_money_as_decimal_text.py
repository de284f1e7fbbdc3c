"""Money as decimal text ("1250.00"), as it travels: visits' amounts paid and charges,
agreements' totals, discounts and taxes, payments. What was stored as minor units is
rewritten, and so are the changes still waiting to be sent and the concurrent edits kept
for review, so everything reads the same way.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

# table -> (entity, [(column, nullable)])
MONEY = {
    "visits": ("visit", [("amount_paid", True), ("charge", True)]),
    "agreements": ("agreement", [("total", False), ("discount", False), ("tax", False)]),
    "payments": ("payment", [("amount", False)]),
}
_BY_ENTITY = {entity: {c for c, _ in cols} for entity, cols in MONEY.values()}


def _text(cents: Any) -> Any:
    """Minor units -> decimal text (the rule of app.core.money, frozen here)."""
    if isinstance(cents, bool) or not isinstance(cents, int):
        return cents
    return f"{(Decimal(cents) / 100).quantize(Decimal('0.01')):f}"


def _cents(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    return int((Decimal(text) * 100).to_integral_value())


def _loaded(stored: Any) -> Any:
    """A JSON column's value as SQLite hands it back: text, or a bare number (the column's
    numeric affinity turns the text "1250" into the integer 1250)."""
    return json.loads(stored) if isinstance(stored, str | bytes) else stored


def _convert_json(conn: sa.Connection, to: Any) -> None:
    """Queued changes (the outbox) and kept concurrent edits hold values as JSON."""
    rows = conn.execute(sa.text("SELECT seq, entity, payload FROM outbox")).all()
    for seq, entity, payload in rows:
        names = _BY_ENTITY.get(entity)
        if not names:
            continue
        data = json.loads(payload) if isinstance(payload, str) else payload
        fields = data.get("fields") or {}
        if not names & set(fields):
            continue
        for n in names & set(fields):
            fields[n] = to(fields[n])
        conn.execute(sa.text("UPDATE outbox SET payload = :p WHERE seq = :s"),
                     {"p": json.dumps(data), "s": seq})
    rows = conn.execute(sa.text(
        "SELECT key, entity, field, winner_value, loser_value FROM conflicts")).all()
    for key, entity, field, winner, loser in rows:
        if field not in _BY_ENTITY.get(entity, set()):
            continue
        w, lo = (json.dumps(to(_loaded(x))) if x is not None else None for x in (winner, loser))
        conn.execute(sa.text(
            "UPDATE conflicts SET winner_value = :w, loser_value = :l WHERE key = :k"),
            {"w": w, "l": lo, "k": key})


def _rewrite(to_text: bool) -> None:
    conn = op.get_bind()
    for table, (_entity, cols) in MONEY.items():
        for col, _nullable in cols:
            values = conn.execute(sa.text(f"SELECT id, {col} FROM {table}")).all()
            for row_id, value in values:
                if value is None:
                    continue
                new = _text(int(value)) if to_text else _cents(str(value))
                conn.execute(sa.text(f"UPDATE {table} SET {col} = :v WHERE id = :i"),
                             {"v": new, "i": row_id})
    _convert_json(conn, _text if to_text else _cents)


def upgrade() -> None:
    for table, (_entity, cols) in MONEY.items():
        with op.batch_alter_table(table) as batch:
            for col, nullable in cols:
                batch.alter_column(col, existing_type=sa.Integer(), type_=sa.String(length=32),
                                   existing_nullable=nullable)
    _rewrite(to_text=True)


def downgrade() -> None:
    _rewrite(to_text=False)
    for table, (_entity, cols) in MONEY.items():
        with op.batch_alter_table(table) as batch:
            for col, nullable in cols:
                batch.alter_column(col, existing_type=sa.String(length=32), type_=sa.Integer(),
                                   existing_nullable=nullable)
