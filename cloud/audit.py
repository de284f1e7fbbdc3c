"""The audit log: who did what, when (UTC) and from where; append-only, hash-chained.

Each row stores ``sha256(previous hash + canonical JSON of its own content)``, so a
row edited or removed after the fact breaks the chain and `verify` finds it. Rows are
appended one writer at a time (PostgreSQL: a transaction-level advisory lock; SQLite:
the database write lock), so the chain has no forks.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from cloud.models import utcnow
from cloud.portal.models import AuditEntry

GENESIS = "0" * 64
_PG_LOCK_KEY = 0x41554454  # "AUDT"


def _digest(prev_hash: str, entry: AuditEntry) -> str:
    body = json.dumps(entry.content(), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


def record(
    session: Session, *, actor: str, action: str, installation_id: str | None = None,
    target: str = "", address: str = "", detail: str = "",
) -> None:
    """Append one row and commit, in a transaction of its own.

    Never pass a secret in `detail`: the log is kept for years and read by people.
    """
    if session.in_transaction():
        session.commit()
    conn = session.connection(execution_options={"sqlite_immediate": True})
    try:
        if conn.dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
        prev = session.execute(
            select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)
        ).scalar_one_or_none() or GENESIS
        entry = AuditEntry(at=utcnow(), installation_id=installation_id, actor=actor[:120],
                           action=action[:40], target=target[:120], address=address[:64],
                           detail=detail[:2000], prev_hash=prev)
        entry.hash = _digest(prev, entry)
        session.add(entry)
        session.commit()
    except BaseException:
        session.rollback()
        raise


@dataclass(frozen=True, slots=True)
class Verdict:
    ok: bool
    rows: int
    broken_at: int | None = None  # id of the first row that does not fit the chain


def verify(session: Session) -> Verdict:
    """Walk the whole chain; the first row whose hash or link does not fit is named."""
    prev = GENESIS
    n = 0
    for entry in session.scalars(select(AuditEntry).order_by(AuditEntry.id)
                                 .execution_options(yield_per=500)):
        n += 1
        if entry.prev_hash != prev or entry.hash != _digest(prev, entry):
            return Verdict(False, n, entry.id)
        prev = entry.hash
    return Verdict(True, n)


def entries(session: Session, *, installation_id: str, limit: int = 200) -> list[AuditEntry]:
    return list(session.scalars(
        select(AuditEntry).where(AuditEntry.installation_id == installation_id)
        .order_by(AuditEntry.id.desc()).limit(limit)
    ))
