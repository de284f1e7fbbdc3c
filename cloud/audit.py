"""The audit log: who did what, when (UTC) and from where; append-only, keyed chain.

Each row stores ``HMAC(key, previous hash + canonical JSON of its own content)``. The
key is kept outside the database (`AuditKey`: the settings, else a file of its own in
the data folder), so whoever can write the database can not rewrite a row and
recompute the chain. After every row a checkpoint is signed with the same key and
written outside the audit table (a file in the data folder: the last row's id and hash
and the number of rows up to it); removing the last rows, or all of them, leaves the
checkpoint pointing at a row that is gone, and `verify` says so.

Rows are appended one writer at a time (PostgreSQL: a transaction-level advisory lock;
SQLite: the database write lock), so the chain has no forks. Rows written before the
chain was keyed (plain sha256) are accepted only as the chain's beginning.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from cloud.models import utcnow
from cloud.portal.models import AuditEntry

GENESIS = "0" * 64
_PG_LOCK_KEY = 0x41554454  # "AUDT"
INFO_KEY = "audit"  # where a session of the app finds its AuditKey (Session.info)


@dataclass
class AuditKey:
    """The chain's key and where its checkpoint is written."""

    key: bytes
    checkpoint: Path
    lock: threading.Lock

    @classmethod
    def load(cls, configured: str, data_dir: Path) -> AuditKey:
        """The configured key (hex or text), else `<data>/audit.key`, made on first use
        with 256 random bits and readable by the server's user only."""
        if configured:
            key = configured.encode()
        else:
            path = data_dir / "audit.key"
            if not path.exists():
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w") as f:
                    f.write(secrets.token_hex(32))
            key = path.read_text().strip().encode()
        return cls(key, data_dir / "audit-checkpoint.json", threading.Lock())

    def mac(self, message: str) -> str:
        return hmac.new(self.key, message.encode(), hashlib.sha256).hexdigest()

    def read_checkpoint(self) -> dict[str, Any] | None:
        try:
            data = json.loads(self.checkpoint.read_text())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def write_checkpoint(self, last_id: int, last_hash: str, rows: int) -> None:
        with self.lock:
            current = self.read_checkpoint()
            if current and int(current.get("last_id", 0)) >= last_id:
                return
            body = {"last_id": last_id, "hash": last_hash, "rows": rows,
                    "at": utcnow().isoformat()}
            body["mac"] = self.mac(_checkpoint_message(body))
            tmp = self.checkpoint.with_suffix(".tmp")
            tmp.write_text(json.dumps(body))
            os.replace(tmp, self.checkpoint)


def _checkpoint_message(body: dict[str, Any]) -> str:
    return f"checkpoint|{body.get('last_id')}|{body.get('hash')}|{body.get('rows')}"


def _content(entry: AuditEntry) -> str:
    return json.dumps(entry.content(), sort_keys=True, separators=(",", ":"))


def _legacy_digest(prev_hash: str, entry: AuditEntry) -> str:
    return hashlib.sha256((prev_hash + _content(entry)).encode()).hexdigest()


def _digest(key: AuditKey | None, prev_hash: str, entry: AuditEntry) -> str:
    if key is None:
        return _legacy_digest(prev_hash, entry)
    return key.mac(prev_hash + _content(entry))


def key_of(session: Session) -> AuditKey | None:
    key = session.info.get(INFO_KEY)
    return key if isinstance(key, AuditKey) else None


def record(
    session: Session, *, actor: str, action: str, installation_id: str | None = None,
    target: str = "", address: str = "", detail: str = "",
) -> None:
    """Append one row and commit, in a transaction of its own; then sign a checkpoint.

    Never pass a secret in `detail`: the log is kept for years and read by people.
    """
    key = key_of(session)
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
        entry.hash = _digest(key, prev, entry)
        session.add(entry)
        session.flush()
        rows = session.execute(select(func.count(AuditEntry.id))
                               .where(AuditEntry.id <= entry.id)).scalar_one()
        entry_id, entry_hash = entry.id, entry.hash
        session.commit()
    except BaseException:
        session.rollback()
        raise
    if key is not None:
        key.write_checkpoint(entry_id, entry_hash, int(rows))


IDS_PER_ROW = 50  # patient ids (36 characters) that fit one row's detail


def record_shown(session: Session, *, actor: str, action: str, installation_id: str,
                 address: str, what: str, patient_ids: list[str]) -> None:
    """A read that showed patient data (a list, a search, a diary): what was asked
    (`what`) and every patient shown, in as many rows as their ids need."""
    ids = list(dict.fromkeys(i for i in patient_ids if i))
    chunks = [ids[i:i + IDS_PER_ROW] for i in range(0, len(ids), IDS_PER_ROW)] or [[]]
    for n, chunk in enumerate(chunks, start=1):
        part = f" (part {n} of {len(chunks)})" if len(chunks) > 1 else ""
        record(session, actor=actor, action=action, installation_id=installation_id,
               target=what[:120], address=address,
               detail=f"{len(ids)} patients shown{part}: {','.join(chunk)}")


@dataclass(frozen=True, slots=True)
class Verdict:
    ok: bool
    rows: int
    broken_at: int | None = None  # id of the first row that does not fit the chain
    reason: str = ""


def verify(session: Session) -> Verdict:
    """Walk the whole chain (the first row whose hash or link does not fit is named),
    then hold it against the signed checkpoint: its row must still be there, unchanged,
    with as many rows up to it."""
    key = key_of(session)
    prev = GENESIS
    n = 0
    keyed = False
    seen: dict[str, Any] = {}
    mark = key.read_checkpoint() if key else None
    mark_id = int(mark.get("last_id", 0)) if mark else 0
    for entry in session.scalars(select(AuditEntry).order_by(AuditEntry.id)
                                 .execution_options(yield_per=500)):
        n += 1
        fits = entry.prev_hash == prev and key is not None \
            and hmac.compare_digest(entry.hash, _digest(key, prev, entry))
        if fits:
            keyed = True
        elif entry.prev_hash != prev or keyed or entry.hash != _legacy_digest(prev, entry):
            return Verdict(False, n, entry.id, "a row was changed or removed")
        if entry.id == mark_id:
            seen = {"hash": entry.hash, "rows": n}
        prev = entry.hash
    if key is None:
        return Verdict(True, n)
    if mark is None:
        if n:
            return Verdict(False, n, None, "the signed checkpoint is missing")
        return Verdict(True, n)
    if not hmac.compare_digest(str(mark.get("mac", "")), key.mac(_checkpoint_message(mark))):
        return Verdict(False, n, None, "the checkpoint's signature does not fit")
    if seen.get("hash") != mark.get("hash") or seen.get("rows") != mark.get("rows"):
        return Verdict(False, n, None, "rows the checkpoint vouches for are gone")
    return Verdict(True, n)


def entries(session: Session, *, installation_id: str, limit: int = 200) -> list[AuditEntry]:
    return list(session.scalars(
        select(AuditEntry).where(AuditEntry.installation_id == installation_id)
        .order_by(AuditEntry.id.desc()).limit(limit)
    ))
