"""The real cloud process on a loopback port, as a user starts it."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support.waiting import wait_until
from tests.unit.cloud.support import BACKENDS, PC, database_url, register_pc, register_practice

ROOT = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    url: str
    data: Path
    proc: subprocess.Popen[bytes]

    @property
    def mail_dir(self) -> Path:
        return self.data / "mail"


class PortTaken(AssertionError):
    """The port free_port chose was taken before the cloud bound it."""


PORT_TRIES = 5


def start_server(data: Path, env: dict[str, str] | None = None,
                 timeout: float = 60.0, port: int | None = None,
                 https_ca: Path | None = None) -> Server:
    """The cloud as a process; `port` to start it again where it was (its log goes on
    in the same file); `https_ca`: it serves HTTPS (its certificate in `env`) under
    this certificate authority.

    A port chosen here is free when chosen, not when the cloud binds it: another test
    process, or an outgoing connection's local port, may take it meanwhile. The cloud
    is then started on another one."""
    for _ in range(PORT_TRIES - 1):
        try:
            return _start(data, env, timeout, port or free_port(), https_ca)
        except PortTaken:
            if port is not None:
                raise
    return _start(data, env, timeout, port or free_port(), https_ca)


def _start(data: Path, env: dict[str, str] | None, timeout: float, port: int,
           https_ca: Path | None) -> Server:
    log_path = data.parent / f"cloud-{port}.log"
    log = open(log_path, "ab")  # noqa: SIM115 - lives with the process
    proc = subprocess.Popen(
        [sys.executable, "-m", "cloud", "--port", str(port), "--data", str(data)],
        cwd=ROOT, env={**os.environ, **(env or {})}, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"{'https' if https_ca else 'http'}://127.0.0.1:{port}"
    verify = ssl.create_default_context(cafile=str(https_ca)) if https_ca else True

    def answers() -> bool:
        if proc.poll() is not None:
            said = log_path.read_text()[-2000:]
            error = PortTaken if "address already in use" in said else AssertionError
            raise error(f"the cloud exited with {proc.returncode}: {said}")
        try:
            return httpx.get(url + "/health", timeout=1, verify=verify).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_until(answers, timeout, message="the cloud to answer", step=0.1)
    except AssertionError:
        proc.kill()
        raise
    return Server(url, data, proc)


def stop_server(server: Server) -> None:
    server.proc.terminate()
    try:
        server.proc.wait(15)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        server.proc.wait(5)


@pytest.fixture(params=BACKENDS)
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    with database_url(request.param, tmp_path) as url:
        srv = start_server(tmp_path / "data", {
            "DATABASE_URL": url, "CHAIRSIDE_CLOUD_MAX_UPLOAD_BYTES": str(256 * 1024 * 1024)})
        try:
            yield srv
        finally:
            stop_server(srv)


@pytest.fixture
def http(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=60) as c:
        yield c


@pytest.fixture
def remote_pc(http: httpx.Client, server: Server) -> PC:
    return register_pc(http, *register_practice(http, server.mail_dir))
