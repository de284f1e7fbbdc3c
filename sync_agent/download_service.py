"""What Tools ▸ Data download does, without Qt: ask the server about the signed-in
user's downloads, schedule one with a one-time code, save a ready one to a file.

It speaks through this PC's connection (its device token, app.store.keys) for the
program user signed in on it; the server checks the user's own password wherever it
counts. The password is sent once over the connection and kept nowhere here. Every
method talks to the network, so it runs on a worker (ReadOp), never on the UI thread.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from app.platform.secrets import SecretStore
from app.store.db import Database
from sync_agent import connection
from sync_agent.client import API, CONNECT_TIMEOUT_S, READ_TIMEOUT_S, _reason, unreachable

CHUNK = 256 * 1024


class DownloadRefused(RuntimeError):
    """The server said no, or could not be asked; the message is for the user."""


@dataclass(frozen=True, slots=True)
class Download:
    id: str
    run_on: dt.date
    status: str
    size: int
    expires_at: str | None


@dataclass(frozen=True, slots=True)
class DownloadStatus:
    allowed: bool
    missing: str
    first_day: dt.date
    last_day: dt.date
    keep_days: int
    downloads: tuple[Download, ...]


class DataDownloads:
    def __init__(self, db: Database, secrets: SecretStore, user_id: str) -> None:
        self.db = db
        self.secrets = secrets
        self.user_id = user_id

    def _post(self, path: str, body: dict[str, Any], *, stream: bool = False) -> Any:
        conn = connection.load(self.db, self.secrets)
        if conn is None:
            raise DownloadRefused("This computer is not connected to the server yet. An "
                                  "administrator connects it in Sync ▸ Server…")
        client = conn.client()
        try:
            response = client.http.post(
                f"{client.base_url}{API}/download/{path}",
                json={"user_id": self.user_id, **body},
                headers={"Authorization": f"Bearer {client.token}"},
                timeout=(CONNECT_TIMEOUT_S, READ_TIMEOUT_S), stream=stream)
        except requests.RequestException as exc:
            raise DownloadRefused(f"The server could not be reached ({unreachable(exc)}). "
                                  "Check the internet connection and try again.") from None
        if response.status_code >= 400:
            reason = _reason(response)
            response.close()
            if response.status_code == 401:
                reason = "The server did not accept this computer. Connect it again " \
                         "(Sync ▸ Server…)."
            elif response.status_code >= 500 and response.status_code != 503:
                reason = "The server could not do it just now. Try again later."
            raise DownloadRefused(reason)
        return response

    def status(self) -> DownloadStatus:
        d = self._post("status", {}).json()
        return DownloadStatus(
            bool(d["allowed"]), str(d["missing"]), dt.date.fromisoformat(d["first_day"]),
            dt.date.fromisoformat(d["last_day"]), int(d["keep_days"]),
            tuple(Download(x["id"], dt.date.fromisoformat(x["run_on"]), x["status"],
                           int(x["size"]), x.get("expires_at")) for x in d["downloads"]))

    def request_code(self, password: str, run_on: dt.date) -> tuple[str, str]:
        """Send the one-time code; returns (code id, where it was sent)."""
        d = self._post("request", {"password": password, "run_on": run_on.isoformat()}).json()
        return str(d["code_id"]), str(d["sent_to"])

    def confirm(self, code_id: str, code: str) -> None:
        self._post("confirm", {"code_id": code_id, "code": code.strip()})

    def save(self, download_id: str, password: str, dest: Path) -> int:
        """Fetch the ZIP into `dest` (written beside it, then renamed); returns its size."""
        response = self._post("file", {"password": password, "download_id": download_id},
                              stream=True)
        part = dest.with_name(dest.name + ".part")
        size = 0
        try:
            with response, open(part, "wb") as out:
                for chunk in response.iter_content(CHUNK):
                    out.write(chunk)
                    size += len(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.replace(part, dest)
        except requests.RequestException as exc:
            part.unlink(missing_ok=True)
            raise DownloadRefused(f"The download was interrupted ({unreachable(exc)}). "
                                  "Try again.") from None
        except BaseException:
            part.unlink(missing_ok=True)
            raise
        return size
