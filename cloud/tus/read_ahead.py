"""The first bytes of a chunk read from the socket while its upload is looked up.

A PATCH first asks the database for its device and upload, on a worker thread; on a
busy machine that trip takes milliseconds, and meanwhile nobody reads the socket: the
client's bytes stop in the kernel's buffers and the client soon waits. So the event
loop reads the body's first messages into memory meanwhile, up to a limit, and hands
them on in order before the rest, exactly as they came (also an interruption: a read
that failed fails again where it stood). Nothing is written before the lookup allowed
it; a refused request drops what was read.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable
from typing import TypeVar

from starlette.types import Message, Receive

T = TypeVar("T")


class ReadAhead:
    def __init__(self, receive: Receive, limit: int) -> None:
        self._receive = receive
        self.limit = limit
        self.messages: deque[Message] = deque()
        self.size = 0
        self.failed: Exception | None = None
        self._stop = False
        self._reader: asyncio.Future[None] | None = None

    async def _read(self) -> None:
        try:
            while not self._stop and self.size < self.limit:
                message = await self._receive()
                self.messages.append(message)
                if message["type"] != "http.request" or not message.get("more_body", False):
                    return
                self.size += len(message.get("body", b""))
        except Exception as exc:  # raised again when the body is read up to it
            self.failed = exc

    async def during(self, work: Awaitable[T]) -> T:
        """`work`'s result, the body being read meanwhile; the message on its way when
        `work` is done is the last one read ahead (never waited for here: a client
        that paused mid-body must not keep its request from going on). A failed
        `work` stops the reading (its request is refused)."""
        self._reader = asyncio.ensure_future(self._read())
        try:
            return await work
        except BaseException:
            self.close()
            raise
        finally:
            self._stop = True

    async def receive(self) -> Message:
        """What was read ahead, then the rest of the request."""
        if not self.messages and self._reader is not None and not self._reader.done():
            await self._reader
        if self.messages:
            return self.messages.popleft()
        if self.failed is not None:
            failed, self.failed = self.failed, None
            raise failed
        return await self._receive()

    def close(self) -> None:
        """Stop reading ahead (the request is answered, or refused)."""
        if self._reader is not None:
            self._reader.cancel()
