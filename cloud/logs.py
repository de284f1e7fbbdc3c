"""The server's log: one line per record, each with the id of the request it belongs
to (``X-Request-ID``: the caller's when it sent a sane one, else a new one; sent back
on every answer), as text or as JSON objects (``CHAIRSIDE_CLOUD_LOG_FORMAT=json``) for a
log collector."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import uuid
from contextvars import ContextVar
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID: ContextVar[str] = ContextVar("chairside_request_id", default="-")
HEADER = b"x-request-id"
# A proxy's or client's id is kept only if it is short and plain: it goes into every
# log line, where a crafted one could forge lines.
_SANE = re.compile(rb"^[A-Za-z0-9._:@/+=-]{1,128}$")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"


class RequestId:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((v for k, v in scope["headers"] if k == HEADER), b"")
        rid = given.decode("ascii") if _SANE.match(given) else uuid.uuid4().hex
        token = REQUEST_ID.set(rid)

        async def with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k != HEADER]
                message = {**message, "headers": [*headers, (HEADER, rid.encode())]}
            await send(message)

        try:
            await self.app(scope, receive, with_id)
        finally:
            REQUEST_ID.reset(token)


class WithRequestId(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(),
            "level": record.levelname, "logger": record.name,
            "request_id": getattr(record, "request_id", "-"), "message": record.getMessage(),
        }
        if record.exc_info:  # cloud.logsafe has already taken the exception's text out
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure(level: str, fmt: str) -> None:
    """The root logger's one handler, for the server's and uvicorn's records alike."""
    handler = logging.StreamHandler()
    handler.addFilter(WithRequestId())
    handler.setFormatter(JsonLines() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
