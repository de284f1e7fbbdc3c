"""The sync agent's published state and the app's requests to it: rows, not IPC.

The agent writes its state (running, heartbeat, online, what waits, the upload in
flight, the last error); the app reads it. The app writes requests (sync now, update
all, stop); the agent takes them. Both processes share the database file.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update

from app.core.agent_requests import RequestKind
from app.store.db import Database
from app.store.models import AgentRequest, AgentState
from app.store.sync.outbox import utc_now_text

HEARTBEAT_S = 5
STALE_AFTER_S = 20  # no heartbeat for this long: the agent is not running


@dataclass(frozen=True, slots=True)
class AgentStatus:
    running: bool
    online: bool
    pid: int | None
    waiting_changes: int
    waiting_uploads: int
    waiting_bytes: int
    current_upload: str | None
    upload_done: int
    upload_total: int
    last_error: str | None
    last_sync_at: str | None
    heartbeat_at: str | None
    build: str | None = None  # None: an agent from before builds were published

    def describe(self, what: str | None = None) -> str:
        """The status bar's sentence; `what` says what waits (else the agent's own
        count of it)."""
        if not self.running:
            return "Sync service is not running"
        waiting = []
        if self.waiting_changes:
            n = self.waiting_changes
            waiting.append(f"{n} change{'s' if n != 1 else ''}")
        if self.waiting_uploads:
            n = self.waiting_uploads
            waiting.append(f"{n} image{'s' if n != 1 else ''}")
        if what is None:
            what = " and ".join(waiting) + " waiting" if waiting else "everything is up to date"
        if self.last_error and not self.online:
            return f"Service is running — offline ({self.last_error}) — {what}"
        if not self.online:
            return f"Service is running — offline — {what}"
        if self.last_error:
            return f"Service is running — error: {self.last_error} — {what}"
        return f"Service is running — {what}"


@dataclass(frozen=True, slots=True)
class Request:
    id: int
    kind: str  # as stored: the agent refuses one that is no RequestKind


class AgentRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    def publish(self, **fields: Any) -> None:
        """Agent side: update the state row (created on first use)."""
        fields.setdefault("heartbeat_at", utc_now_text())
        with self.db.write() as s:
            row = s.get(AgentState, 1)
            if row is None:
                row = AgentState(id=1)
                s.add(row)
            for name, value in fields.items():
                setattr(row, name, value)

    def status(self, now: dt.datetime | None = None) -> AgentStatus:
        now = now or dt.datetime.now(dt.UTC)
        with self.db.read() as s:
            row = s.get(AgentState, 1)
            if row is None:
                return AgentStatus(False, False, None, 0, 0, 0, None, 0, 0, None, None, None)
            beat = dt.datetime.fromisoformat(row.heartbeat_at) if row.heartbeat_at else None
            running = (
                beat is not None
                and row.stopped_at is None
                and (now - beat).total_seconds() < STALE_AFTER_S
            )
            return AgentStatus(
                running,
                row.online and running,
                row.pid,
                row.waiting_changes,
                row.waiting_uploads,
                row.waiting_bytes,
                row.current_upload,
                row.upload_done,
                row.upload_total,
                row.last_error,
                row.last_sync_at,
                row.heartbeat_at,
                row.build,
            )

    def request(self, kind: RequestKind) -> int:
        """App side: ask the agent for something."""
        with self.db.write() as s:
            r = AgentRequest(kind=RequestKind(kind).value, created_at=utc_now_text())
            s.add(r)
            s.flush()
            return r.id

    def take_requests(self) -> list[Request]:
        """Agent side: the open requests, marked taken."""
        now = utc_now_text()
        with self.db.write() as s:
            rows = list(
                s.scalars(
                    select(AgentRequest)
                    .where(AgentRequest.taken_at.is_(None))
                    .order_by(AgentRequest.id)
                )
            )
            for r in rows:
                r.taken_at = now
            return [Request(r.id, r.kind) for r in rows]

    def finish(self, request_id: int, result: str) -> None:
        with self.db.write() as s:
            s.execute(
                update(AgentRequest)
                .where(AgentRequest.id == request_id)
                .values(done_at=utc_now_text(), result=result[:2000])
            )

    def withdraw(self, request_id: int) -> None:
        """App side: a request no agent took (the one it was for is gone) is not left
        for the next agent."""
        now = utc_now_text()
        with self.db.write() as s:
            s.execute(
                update(AgentRequest)
                .where(AgentRequest.id == request_id, AgentRequest.taken_at.is_(None))
                .values(taken_at=now, done_at=now, result="withdrawn")
            )

    def request_done(self, request_id: int) -> str | None:
        with self.db.read() as s:
            r = s.get(AgentRequest, request_id)
            return r.result if r is not None and r.done_at else None
