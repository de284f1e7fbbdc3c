"""What the data migration dialogs do, without Qt: ask the server for a verification
code to receive another clinic's data, start sending this clinic's data to another
clinic, and read how the migrations went.

Like the Institution window (sync_agent.institution_service) it speaks through this
PC's connection for the program user signed in on it; the server checks that he is an
administrator. Every method talks to the network, so it runs on a worker (ReadOp).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests

from app.platform.secrets import SecretStore
from app.store.db import Database
from sync_agent import connection
from sync_agent.client import API, CONNECT_TIMEOUT_S, READ_TIMEOUT_S, _reason, unreachable
from sync_agent.institution_service import InstitutionRefused

UNDER_WAY = ("queued", "running")


@dataclass(frozen=True, slots=True)
class VerificationCode:
    code: str
    expires_at: str


@dataclass(frozen=True, slots=True)
class MigrationView:
    id: str
    direction: str  # sent, received
    other_code: str
    other_name: str
    status: str  # queued, running, succeeded, failed
    status_words: str
    reason: str
    moved: int
    images: int
    created_at: str

    @property
    def under_way(self) -> bool:
        return self.status in UNDER_WAY


def _said_in_words(response: requests.Response) -> bool:
    """Whether the server refused with a sentence (not a form check's field list)."""
    try:
        return isinstance(response.json().get("detail"), str)
    except ValueError:
        return False


def _view(d: dict[str, Any]) -> MigrationView:
    return MigrationView(str(d["id"]), str(d["direction"]), str(d["other_code"]),
                         str(d["other_name"]), str(d["status"]), str(d["status_words"]),
                         str(d["reason"]), int(d["moved"]), int(d["images"]),
                         str(d["created_at"]))


class Migrations:
    def __init__(self, db: Database, secrets: SecretStore, user_id: str) -> None:
        self.db = db
        self.secrets = secrets
        self.user_id = user_id

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None
              ) -> dict[str, Any]:
        conn = connection.load(self.db, self.secrets)
        if conn is None:
            raise InstitutionRefused("This computer is not connected to the server yet. An "
                                     "administrator connects it in Sync ▸ Server…")
        client = conn.client()
        kwargs: dict[str, Any] = ({"params": {"user_id": self.user_id}} if body is None
                                  else {"json": {"user_id": self.user_id, **body}})
        try:
            response = client.http.request(
                method, f"{client.base_url}{API}/institution/migration{path}",
                headers={"Authorization": f"Bearer {client.token}"},
                timeout=(CONNECT_TIMEOUT_S, READ_TIMEOUT_S), **kwargs)
        except requests.RequestException as exc:
            raise InstitutionRefused(f"The server could not be reached ({unreachable(exc)}). "
                                     "Check the internet connection and try again.") from None
        if response.status_code >= 400:
            reason = _reason(response)
            if response.status_code == 401:
                reason = "The server did not accept this computer. Connect it again " \
                         "(Sync ▸ Server…)."
            elif response.status_code == 422 and not _said_in_words(response):
                reason = "Check what you typed and try again."
            elif response.status_code >= 500 and response.status_code != 503:
                reason = "The server could not do it just now. Try again later."
            raise InstitutionRefused(reason)
        body_out: dict[str, Any] = response.json()
        return body_out

    def new_code(self) -> VerificationCode:
        d = self._call("POST", "/code", {})
        return VerificationCode(str(d["code"]), str(d["expires_at"]))

    def start(self, receiver: str, code: str) -> MigrationView:
        return _view(self._call("POST", "", {"receiver": receiver.strip(),
                                             "code": code.strip()}))

    def listing(self) -> list[MigrationView]:
        return [_view(d) for d in self._call("GET", "")["migrations"]]
