"""What Practice ▸ Institution does, without Qt: ask the server about the practice's
clinic institution, switch automatic review of connection requests, approve or refuse
a lab's request.

It speaks through this PC's connection (its device token, app.store.keys) for the
program user signed in on it; the server checks that he is an administrator. Every
method talks to the network, so it runs on a worker (ReadOp), never on the UI thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests

from app.platform.secrets import SecretStore
from app.store.db import Database
from sync_agent import connection
from sync_agent.client import API, CONNECT_TIMEOUT_S, READ_TIMEOUT_S, _reason, unreachable


class InstitutionRefused(RuntimeError):
    """The server said no, or could not be asked; the message is for the user."""


@dataclass(frozen=True, slots=True)
class ConnectionRequest:
    id: str
    state: str  # pending, approved, refused
    lab_code: str
    lab_name: str
    decided_by: str
    created_at: str


@dataclass(frozen=True, slots=True)
class InstitutionView:
    code: str
    name: str
    region: str
    auto_review: bool
    is_admin: bool
    requests: tuple[ConnectionRequest, ...]
    dissolution: str = ""  # "", "pending" (revocable until dissolve_at) or "done"
    dissolve_at: str = ""


def _said_in_words(response: requests.Response) -> bool:
    """Whether the server refused with a sentence (not a form check's field list)."""
    try:
        return isinstance(response.json().get("detail"), str)
    except ValueError:
        return False


class Institutions:
    def __init__(self, db: Database, secrets: SecretStore, user_id: str,
                 practice_name: str = "") -> None:
        self.db = db
        self.secrets = secrets
        self.user_id = user_id
        self.practice_name = practice_name

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None
              ) -> InstitutionView:
        return view_of(self._json(method, path, body))

    def _json(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        conn = connection.load(self.db, self.secrets)
        if conn is None:
            raise InstitutionRefused("This computer is not connected to the server yet. An "
                                     "administrator connects it in Sync ▸ Server…")
        client = conn.client()
        kwargs: dict[str, Any] = (
            {"params": {"user_id": self.user_id, "practice_name": self.practice_name[:120]}}
            if body is None else {"json": {"user_id": self.user_id, **body}})
        try:
            response = client.http.request(
                method, f"{client.base_url}{API}/institution{path}",
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
        return response.json()

    def show(self) -> InstitutionView:
        return self._call("GET", "")

    def set_auto_review(self, on: bool) -> InstitutionView:
        return self._call("PUT", "/settings", {"auto_review": on})

    def save_settings(self, auto_review: bool, region: str) -> InstitutionView:
        """`region`: the clinic's country, a two-letter code ("" leaves it unset)."""
        body: dict[str, Any] = {"auto_review": auto_review}
        if region:
            body["region"] = region
        return self._call("PUT", "/settings", body)

    def answer(self, request_id: str, approve: bool) -> InstitutionView:
        return self._call("POST", f"/requests/{request_id}/{'approve' if approve else 'refuse'}",
                          {})


def view_of(d: dict[str, Any]) -> InstitutionView:
    return InstitutionView(
        str(d["code"]), str(d["name"]), str(d["region"]), bool(d["auto_review"]),
        bool(d["is_admin"]),
        tuple(ConnectionRequest(str(r["id"]), str(r["state"]), str(r["lab_code"]),
                                str(r["lab_name"]), str(r["decided_by"]),
                                str(r["created_at"])) for r in d["requests"]),
        str(d.get("dissolution") or ""), str(d.get("dissolve_at") or ""))
