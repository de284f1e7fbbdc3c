"""Start a cloud on loopback and register a practice with one PC (for the benchmarks)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


@dataclass
class Cloud:
    url: str
    proc: subprocess.Popen[bytes]
    data: Path

    def stored_size(self, sha: str) -> int:
        """The plaintext size of what the cloud keeps under `sha` (its folder store
        seals blobs with the key in <data>/blob.key); 0 when nothing arrived."""
        import base64

        from app.platform import sealed

        path = self.data / "blobs" / sha[:2] / sha[2:4] / sha
        if not path.is_file():
            return 0
        sealed.remember(base64.b64decode((self.data / "blob.key").read_text().strip()))
        return sealed.plain_size(path)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def start(data: Path, env: dict[str, str] | None = None) -> Cloud:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "cloud", "--port", str(port), "--data", str(data)],
        cwd=ROOT,
        env={**os.environ, "CHAIRSIDE_CLOUD_LOG_LEVEL": "warning", **(env or {})},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the cloud exited with {proc.returncode}")
        try:
            if requests.get(url + "/health", timeout=1).ok:
                return Cloud(url, proc, data)
        except requests.ConnectionError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the cloud did not answer")


def register(cloud: Cloud, http: requests.Session) -> tuple[str, str]:
    """(node, device token) of a PC of a newly registered practice."""
    r = http.post(cloud.url + "/api/v1/installations", json={"email": "bench@example.com"})
    r.raise_for_status()
    iid = r.json()["installation_id"]
    password = ""
    for path in (cloud.data / "mail").glob("*.eml"):
        text = path.read_text()
        if iid in text:
            password = re.search(r"Upload password: (\S+)", text).group(1)  # type: ignore[union-attr]
    node = os.urandom(8).hex()
    r = http.post(
        f"{cloud.url}/api/v1/installations/{iid}/devices",
        json={"upload_password": password, "node": node, "name": "bench"},
    )
    r.raise_for_status()
    return node, r.json()["token"]
