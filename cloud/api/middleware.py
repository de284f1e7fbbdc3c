"""ASGI middleware: body limits on every route, Tus-Resumable on upload responses."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.wire import MAX_BATCH_BYTES

PUSH_PATH = "/api/v1/push"
OTHER_JSON_MAX = 64 * 1024
# The longest form of the portal is a note of 4,000 characters: percent-encoded UTF-8
# takes up to 12 bytes a character.
FORM_MAX = 64 * 1024
MAX_FORM_FIELDS = 16


async def _problem(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def _limit(scope: Scope) -> int | None:
    """The body limit of a request; None: streamed and limited by its own protocol."""
    path: str = scope["path"]
    if path == PUSH_PATH:
        return MAX_BATCH_BYTES
    if path.startswith("/api/"):
        return OTHER_JSON_MAX
    if scope["method"] == "PATCH" and path.startswith("/files/"):
        return None  # a tus chunk: checked against the upload's length as it streams
    if path.startswith("/bench/"):
        return None  # only with bench_routes, to measure uploads
    return FORM_MAX


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


class BodyLimit:
    """Refuse bodies over their limit with 413 before anything parses them, on every
    route: a push may be MAX_BATCH_BYTES, any other API request OTHER_JSON_MAX, a form
    of the portal FORM_MAX with at most MAX_FORM_FIELDS fields (the portal takes no
    files, so no multipart body at all). Only tus chunks stream past it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = _limit(scope) if scope["type"] == "http" else None
        if limit is None:
            await self.app(scope, receive, send)
            return
        reason = f"the request body is larger than {limit} bytes"
        length = _header(scope, b"content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            await _problem(send, 413, reason)
            return
        kind = (_header(scope, b"content-type") or b"").split(b";")[0].strip().lower()
        if kind == b"multipart/form-data" and not scope["path"].startswith("/api/"):
            await _problem(send, 415, "this server takes no files in forms")
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _problem(send, 413, reason)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if kind == b"application/x-www-form-urlencoded" and body.count(b"&") >= MAX_FORM_FIELDS:
            await _problem(send, 413, f"a form has at most {MAX_FORM_FIELDS} fields")
            return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


OVERRIDABLE = frozenset({"PATCH", "DELETE", "HEAD", "OPTIONS", "GET"})


class TusResumable:
    """Every response under /files carries ``Tus-Resumable: 1.0.0``; a POST there with
    ``X-HTTP-Method-Override`` is handled as the method it names (tus 1.0.0: MUST, for
    clients behind proxies or in browsers that only send GET and POST)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/files"):
            await self.app(scope, receive, send)
            return
        if scope["method"] == "POST":
            for name, value in scope.get("headers", []):
                if name == b"x-http-method-override":
                    method = value.decode("latin-1").strip().upper()
                    if method in OVERRIDABLE:
                        scope = {**scope, "method": method}
                    break

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers: list[Any] = list(message.get("headers", []))
                headers.append((b"tus-resumable", b"1.0.0"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_header)


class TooSlow(ClientDisconnect):
    """The request body stopped arriving: handled as a client that went away (a tus
    chunk keeps what arrived, and its upload is free again for the next attempt)."""


class BodyReadTimeout:
    """Each part of a request body must arrive within `timeout_s`, so that a client
    that stalls or vanishes mid-request does not hold a worker, or an upload's lock,
    for ever. Once the body is complete, waiting (for a disconnect) is not limited."""

    def __init__(self, app: ASGIApp, timeout_s: float) -> None:
        self.app = app
        self.timeout_s = timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False
        complete = False

        async def timed_receive() -> Message:
            nonlocal complete
            if complete:
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), self.timeout_s)
            except TimeoutError:
                raise TooSlow() from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                complete = True
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, timed_receive, watched_send)
        except TooSlow:
            if not started:
                await _problem(send, 408, "the request stopped arriving; send it again")
