"""The lock of an upload across server processes on several machines.

On PostgreSQL a request that writes an upload holds a session-level advisory lock
on the upload's id for as long as it writes, on a connection of its own (a pool of
their own, in autocommit: never an idle open transaction, and the database pool's
connections stay free for other requests; no limit but the server's, as a slow upload
holds one for minutes). A connection whose unlock failed is thrown away, never reused
holding a lock. A process that dies drops its connections and with them the locks.
Another node's PATCH meanwhile gets 423, and its HEAD says the upload is busy. On
SQLite (one machine) the part file's `flock` does it (cloud.tus.storage).
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from anyio import CancelScope, to_thread
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection

from cloud.crud import Refused

# The first of the two 32-bit keys: advisory locks of uploads, apart from other locks
# (the two-key space does not overlap the one-key space used by migrations and audit).
_NAMESPACE = 0x7475


def _key(upload_id: str) -> int:
    return int.from_bytes(hashlib.sha256(upload_id.encode()).digest()[:4], "big", signed=True)


class UploadLocks:
    def __init__(self, database_url: str) -> None:
        self.engine = None if database_url.startswith("sqlite") else create_engine(
            database_url, isolation_level="AUTOCOMMIT", pool_pre_ping=True, pool_size=4,
            max_overflow=-1)

    @property
    def by_flock(self) -> bool:
        """Whether the part file's flock is the lock (one machine, SQLite)."""
        return self.engine is None

    def _try(self, upload_id: str) -> Connection | None:
        assert self.engine is not None
        conn = self.engine.connect()
        try:
            got = conn.execute(text("SELECT pg_try_advisory_lock(:ns, :key)"),
                               {"ns": _NAMESPACE, "key": _key(upload_id)}).scalar()
        except BaseException:
            conn.close()
            raise
        if got:
            return conn
        conn.close()
        return None

    def _release(self, conn: Connection, upload_id: str) -> None:
        released = False
        with suppress(Exception):
            released = bool(conn.execute(text("SELECT pg_advisory_unlock(:ns, :key)"),
                                         {"ns": _NAMESPACE, "key": _key(upload_id)}).scalar())
        if not released:
            conn.invalidate()  # closed for good: its session, and the lock, end
        conn.close()

    @asynccontextmanager
    async def hold(self, upload_id: str) -> AsyncIterator[None]:
        """Exclusively, for the block; 423 when another request (on any node) has it."""
        if self.engine is None:
            yield
            return
        conn = await to_thread.run_sync(self._try, upload_id)
        if conn is None:
            raise Refused(423, "another request is writing this upload; retry later")
        try:
            yield
        finally:
            with CancelScope(shield=True):
                await to_thread.run_sync(self._release, conn, upload_id)

    async def busy(self, upload_id: str) -> bool:
        """Whether a request on some node holds the upload (a probe, released at once)."""
        if self.engine is None:
            return False
        conn = await to_thread.run_sync(self._try, upload_id)
        if conn is None:
            return True
        await to_thread.run_sync(self._release, conn, upload_id)
        return False

    def close(self) -> None:
        if self.engine is not None:
            self.engine.dispose()
