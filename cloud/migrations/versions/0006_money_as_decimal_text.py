"""Money as decimal text ("1250.00") in the stored records, their change log and kept
conflicts, as the devices now send it; amounts stored as minor units are rewritten.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 19:30:00
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

MONEY = {
    "visit": {"amount_paid", "charge"},
    "agreement": {"total", "discount", "tax"},
    "payment": {"amount"},
}
_JSON = sa.JSON().with_variant(JSONB(), "postgresql")


def _text(v: Any) -> Any:
    if isinstance(v, bool) or not isinstance(v, int):
        return v
    return f"{(Decimal(v) / 100).quantize(Decimal('0.01')):f}"


def _cents(v: Any) -> Any:
    return int((Decimal(v) * 100).to_integral_value()) if isinstance(v, str) else v


def _convert(to: Any) -> None:
    conn = op.get_bind()
    records = sa.table("records", sa.column("entity_id", sa.String), sa.column("entity"),
                       sa.column("fields", _JSON))
    changes = sa.table("changes", sa.column("installation_id", sa.String),
                       sa.column("seq", sa.BigInteger), sa.column("entity"),
                       sa.column("fields", _JSON))
    conflicts = sa.table("conflicts", sa.column("id", sa.Integer), sa.column("entity"),
                         sa.column("field"), sa.column("winner", _JSON),
                         sa.column("loser", _JSON))
    entities = list(MONEY)
    for key, fields in conn.execute(
        sa.select(records.c.entity_id, records.c.fields).where(records.c.entity.in_(entities))
    ).all():
        names = MONEY_FIELDS & set(fields)
        new = {n: to(v) if n in names else v for n, v in fields.items()}
        if new != fields:
            conn.execute(records.update().where(records.c.entity_id == key).values(fields=new))
    for inst, seq, fields in conn.execute(
        sa.select(changes.c.installation_id, changes.c.seq, changes.c.fields)
        .where(changes.c.entity.in_(entities))
    ).all():
        new = {n: ({**f, "value": to(f.get("value"))} if n in MONEY_FIELDS else f)
               for n, f in fields.items()}
        if new != fields:
            conn.execute(changes.update().where(changes.c.installation_id == inst,
                                                changes.c.seq == seq).values(fields=new))
    for cid, entity, field, winner, loser in conn.execute(
        sa.select(conflicts.c.id, conflicts.c.entity, conflicts.c.field, conflicts.c.winner,
                  conflicts.c.loser).where(conflicts.c.entity.in_(entities))
    ).all():
        if field not in MONEY.get(entity, set()):
            continue
        conn.execute(conflicts.update().where(conflicts.c.id == cid).values(
            winner={**winner, "value": to(winner.get("value"))},
            loser={**loser, "value": to(loser.get("value"))}))


MONEY_FIELDS = set().union(*MONEY.values())


def upgrade() -> None:
    _convert(_text)


def downgrade() -> None:
    _convert(_cents)
