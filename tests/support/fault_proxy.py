"""An HTTP/1.1 relay on loopback that breaks requests on purpose, for fault tests.

It sits between a client and a server, reads each request and answer enough to know
where they end (Content-Length, chunked, HEAD, 1xx/204/304), and applies the faults
it was given to the requests they match:

- ``cut``: forward `after_bytes` of the request body, then reset both connections;
- ``reset``: reset the client's connection before anything reaches the server;
- ``drop_response``: forward the request, read the server's whole answer (so the
  server has committed), reset the client's connection instead of answering;
- ``status``: answer `status` itself (500, 429 with Retry-After) without forwarding;
- ``stall``: forward `after_bytes`, then go silent — swallow what the client sends,
  answer nothing — until the client gives up or `stall_s` passes.

A fault is one-shot; `cut_every` cuts request bodies periodically (every so many
forwarded body bytes). Counters tell how many body bytes reached the server by
method, so a test can tell how much was sent again.

`rate_bps` makes it a poor line: every byte, in either direction and of every
connection, goes through one serial link per direction of that many bytes a second,
in small pieces (so connections share it fairly), and the proxy's own buffers stay
small (what the client handed over is not far ahead of what the line carried).
`darken(seconds)` makes that line carry nothing for a while (a stall, a blackhole):
connections stay open, bytes wait.

Threads: one accepting, one per client connection; every socket has a timeout and
the proxy stops itself after `lifetime_s`, so nothing outlives a test. `stop()`
joins all threads and returns the names of any that did not end.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

FaultKind = Literal["cut", "reset", "drop_response", "status", "stall"]
RECV = 256 * 1024
HEAD_LIMIT = 64 * 1024


class _Closed(Exception):
    """A side closed or reset its connection, or the proxy is stopping."""


@dataclass
class Fault:
    kind: FaultKind
    method: str | None = "PATCH"  # None: any method
    path: str = ""  # a substring of the request target; "": any
    head: bytes = b""  # a substring of the request's head (e.g. a tus metadata value)
    skip: int = 0  # matching requests to let through first
    after_bytes: int = 0
    status: int = 500
    retry_after: str | None = None
    stall_s: float = 30.0
    applied_at: float | None = None  # monotonic time it struck
    noticed_after_s: float | None = None  # stall: until the client gave up

    def matches(self, method: str, target: str, head: bytes = b"") -> bool:
        return ((self.method is None or self.method == method) and self.path in target
                and self.head in head)


@dataclass
class _Every:
    method: str
    nbytes: int
    since: int = 0


@dataclass
class Stats:
    requests: Counter[str] = field(default_factory=Counter)  # by method
    body_up: Counter[str] = field(default_factory=Counter)  # body bytes forwarded, by method
    largest_body: Counter[str] = field(default_factory=Counter)  # declared, by method
    applied: list[FaultKind] = field(default_factory=list)
    periodic_cuts: int = 0


def _reset(sock: socket.socket | None) -> None:
    """Close with RST rather than FIN, as a broken link or a crashed peer looks."""
    if sock is None:
        return
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


class _Link:
    """One direction of a line of `rate` bytes a second, shared by all connections:
    each piece waits for its turn and for the time it takes on the line."""

    def __init__(self, rate: int, stopping: threading.Event) -> None:
        self.rate = rate
        self.stopping = stopping
        self.lock = threading.Lock()
        self.free_at = time.monotonic()

    def carry(self, n: int) -> None:
        with self.lock:
            now = time.monotonic()
            self.free_at = max(now, self.free_at) + n / self.rate
            wait = self.free_at - now
        self.stopping.wait(wait)


class _Reader:
    """Buffered reads from one socket."""

    def __init__(self, sock: socket.socket, recv: int = RECV) -> None:
        self.sock = sock
        self.buf = b""
        self.recv = recv

    def fill(self) -> None:
        try:
            data = self.sock.recv(self.recv)
        except OSError:
            raise _Closed() from None
        if not data:
            raise _Closed()
        self.buf += data

    def head(self) -> bytes:
        while b"\r\n\r\n" not in self.buf:
            if len(self.buf) > HEAD_LIMIT:
                raise _Closed()
            self.fill()
        end = self.buf.index(b"\r\n\r\n") + 4
        head, self.buf = self.buf[:end], self.buf[end:]
        return head

    def some(self, limit: int) -> bytes:
        if not self.buf:
            self.fill()
        data, self.buf = self.buf[:limit], self.buf[limit:]
        return data

    def line(self) -> bytes:
        while b"\r\n" not in self.buf:
            self.fill()
        end = self.buf.index(b"\r\n") + 2
        data, self.buf = self.buf[:end], self.buf[end:]
        return data


def _headers(head: bytes) -> tuple[str, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    out = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            out[name.strip().lower()] = value.strip()
    return lines[0], out


class FaultProxy:
    def __init__(
        self, upstream_port: int, *, upstream_host: str = "127.0.0.1",
        socket_timeout_s: float = 30.0, lifetime_s: float = 600.0,
        rate_bps: int | None = None,
    ) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.socket_timeout_s = socket_timeout_s
        self.lifetime_s = lifetime_s
        self.stats = Stats()
        self._faults: list[Fault] = []
        self._every: _Every | None = None
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._socks: set[socket.socket] = set()
        self._links: dict[str, _Link] = {}
        self._dark_until = 0.0
        self._piece = RECV
        if rate_bps:
            self._links = {d: _Link(rate_bps, self._stopping) for d in ("up", "down")}
            self._piece = max(512, min(4096, rate_bps // 16))
        self._listener = socket.create_server(("127.0.0.1", 0))
        if rate_bps:  # small receive windows, inherited by accepted sockets
            self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)
        self._listener.settimeout(0.2)
        self.port = int(self._listener.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"

    # Control --------------------------------------------------------------------------
    def start(self) -> FaultProxy:
        self._spawn(self._accept, "proxy-accept")
        return self

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def inject(self, *faults: Fault) -> None:
        with self._lock:
            self._faults.extend(faults)

    def cut_every(self, nbytes: int, method: str = "PATCH") -> None:
        with self._lock:
            self._every = _Every(method, nbytes)

    def darken(self, seconds: float) -> None:
        """Nothing crosses the (rate-limited) line for `seconds` from now."""
        with self._lock:
            self._dark_until = max(self._dark_until, time.monotonic() + seconds)

    def pending_faults(self) -> int:
        with self._lock:
            return len(self._faults)

    def stop(self, timeout_s: float = 10.0) -> list[str]:
        """Close everything; the names of threads still alive after `timeout_s`."""
        self._stopping.set()
        with self._lock:
            socks = list(self._socks)
        for s in socks:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
        end = time.monotonic() + timeout_s
        for t in list(self._threads):
            t.join(max(0.0, end - time.monotonic()))
        self._listener.close()
        return [t.name for t in self._threads if t.is_alive()]

    # Plumbing -------------------------------------------------------------------------
    def _spawn(self, target: object, name: str, *args: object) -> None:
        t = threading.Thread(target=target, args=args, name=name, daemon=True)  # type: ignore[arg-type]
        with self._lock:
            self._threads = [x for x in self._threads if x.is_alive()]
            self._threads.append(t)
        t.start()

    def _send(self, sock: socket.socket, data: bytes, direction: str) -> None:
        """Send over the line: paced in pieces when the proxy is a slow link."""
        link = self._links.get(direction)
        if link is None:
            sock.sendall(data)
            return
        view = memoryview(data)
        while view:
            piece, view = view[: self._piece], view[self._piece :]
            while (dark := self._dark_until - time.monotonic()) > 0:
                self._stopping.wait(min(dark, 0.2))
                if self._stopping.is_set():
                    raise _Closed()
            link.carry(len(piece))
            if self._stopping.is_set():
                raise _Closed()
            sock.sendall(piece)

    def _track(self, s: socket.socket) -> socket.socket:
        s.settimeout(self.socket_timeout_s)
        with self._lock:
            self._socks.add(s)
        return s

    def _forget(self, *socks: socket.socket | None) -> None:
        with self._lock:
            for s in socks:
                self._socks.discard(s)  # type: ignore[arg-type]

    def _accept(self) -> None:
        end = time.monotonic() + self.lifetime_s
        n = 0
        while not self._stopping.is_set() and time.monotonic() < end:
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            n += 1
            self._spawn(self._serve, f"proxy-conn-{n}", self._track(client))
        self._stopping.set()

    def _take(self, method: str, target: str, head: bytes = b"") -> Fault | None:
        with self._lock:
            self.stats.requests[method] += 1
            for fault in self._faults:
                if fault.matches(method, target, head):
                    if fault.skip:
                        fault.skip -= 1
                        return None
                    self._faults.remove(fault)
                    fault.applied_at = time.monotonic()
                    self.stats.applied.append(fault.kind)
                    return fault
        return None

    def _serve(self, client: socket.socket) -> None:
        upstream: socket.socket | None = None
        try:
            reader = _Reader(client, self._piece)
            up_reader: _Reader | None = None
            while not self._stopping.is_set():
                head = reader.head()
                request_line, headers = _headers(head)
                method, target = ([*request_line.split(" "), "", ""])[:2]
                fault = self._take(method, target, head)
                if fault is not None and fault.kind == "reset":
                    raise _Closed()
                if fault is not None and fault.kind == "status":
                    self._answer(client, reader, headers, fault)
                    break
                if upstream is None:
                    try:
                        upstream = self._track(socket.create_connection(self.upstream, 5))
                    except OSError:
                        raise _Closed() from None  # the server is down: the link breaks
                    up_reader = _Reader(upstream)
                assert up_reader is not None
                self._send(upstream, head, "up")
                declared = int(headers.get("content-length", "0") or 0)
                with self._lock:
                    largest = self.stats.largest_body
                    largest[method] = max(largest[method], declared)
                self._relay_body(reader, upstream, headers, method, fault)
                status_head = up_reader.head()
                status_line, up_headers = _headers(status_head)
                answer = status_head + self._read_body(up_reader, method, status_line, up_headers)
                if fault is not None and fault.kind == "drop_response":
                    raise _Closed()
                self._send(client, answer, "down")
                if "close" in (up_headers.get("connection", "") + headers.get("connection", "")):
                    break
            client.close()
            if upstream is not None:
                upstream.close()
        except (_Closed, OSError):
            _reset(client)
            _reset(upstream)
        finally:
            self._forget(client, upstream)

    def _relay_body(
        self, reader: _Reader, upstream: socket.socket, headers: dict[str, str], method: str,
        fault: Fault | None,
    ) -> None:
        if "chunked" in headers.get("transfer-encoding", ""):
            self._send(upstream, self._read_chunked(reader), "up")
            return
        left = int(headers.get("content-length", "0") or 0)
        sent = 0
        while left:
            if fault is not None and fault.kind in ("cut", "stall") and sent >= fault.after_bytes:
                if fault.kind == "stall":
                    self._stall(reader, fault)
                raise _Closed()
            limit = left
            if fault is not None and fault.kind in ("cut", "stall"):
                limit = min(left, max(1, fault.after_bytes - sent))
            data = reader.some(limit)
            self._send(upstream, data, "up")
            sent += len(data)
            left -= len(data)
            with self._lock:
                self.stats.body_up[method] += len(data)
                every = self._every
                cut = False
                if every is not None and every.method == method:
                    every.since += len(data)
                    # Only inside a body: a cut between requests would break nothing.
                    cut = every.since >= every.nbytes and left > 0
                    if cut:
                        every.since = 0
                        self.stats.periodic_cuts += 1
            if cut:
                raise _Closed()

    def _stall(self, reader: _Reader, fault: Fault) -> None:
        """Silence: swallow the client's bytes until it closes or `stall_s` passes."""
        start = time.monotonic()
        reader.sock.settimeout(0.2)
        while time.monotonic() - start < fault.stall_s and not self._stopping.is_set():
            try:
                if not reader.sock.recv(RECV):
                    break
            except TimeoutError:
                continue
            except OSError:
                break
        fault.noticed_after_s = time.monotonic() - start

    def _answer(
        self, client: socket.socket, reader: _Reader, headers: dict[str, str], fault: Fault
    ) -> None:
        left = int(headers.get("content-length", "0") or 0)
        while left:
            left -= len(reader.some(left))
        body = b'{"detail":"injected fault"}'
        extra = f"Retry-After: {fault.retry_after}\r\n" if fault.retry_after else ""
        client.sendall(
            f"HTTP/1.1 {fault.status} Injected\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n{extra}Connection: close\r\n\r\n".encode()
            + body
        )

    def _read_body(
        self, reader: _Reader, method: str, status_line: str, headers: dict[str, str]
    ) -> bytes:
        status = int(status_line.split(" ")[1])
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            return b""
        if "chunked" in headers.get("transfer-encoding", ""):
            return self._read_chunked(reader)
        if "content-length" not in headers:  # ends with the connection
            out = b""
            try:
                while True:
                    out += reader.some(RECV)
            except _Closed:
                return out
        left = int(headers["content-length"])
        parts = []
        while left:
            data = reader.some(left)
            parts.append(data)
            left -= len(data)
        return b"".join(parts)

    def _read_chunked(self, reader: _Reader) -> bytes:
        parts = []
        while True:
            line = reader.line()
            parts.append(line)
            size = int(line.split(b";")[0].strip(), 16)
            left = size + 2  # the chunk and its CRLF
            while left:
                data = reader.some(left)
                parts.append(data)
                left -= len(data)
            if size == 0:
                return b"".join(parts)
