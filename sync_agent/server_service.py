"""What the Server window does, without Qt: registration, the upload password, the
portal passwords, server accounts and shares. Every method talks to the network or
the keyring, so it runs on a worker (ReadOp), never on the UI thread.

Secrets: the upload password and the device token are kept through app.store.keys,
where the database key is: in the OS keyring or, on a PC without a secure one whose
user agreed to a key file for this database, in `<config>/keys/<id>.upload-password`
and `<id>.device-token` beside that key file, readable by the user alone. The login,
admin and general passwords only go to the server. None is written to a log or an
error message.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from app.platform.secrets import BackendInfo, SecretStore
from app.store import keys
from app.store.db import Database
from app.store.settings_repo import SettingsRepo
from sync_agent import connection
from sync_agent.client import CloudClient

UPLOAD_PASSWORD = "upload-password"
PORTAL_PASSWORDS = ("login", "admin", "general")


class NotConnectedError(RuntimeError):
    """This computer has no device token yet: enter the upload password first."""


@dataclass(frozen=True, slots=True)
class ServerState:
    server_url: str
    installation_id: str
    email: str
    connected: bool  # this PC has its device token (keyring or key file)
    upload_password_saved: bool
    keyring: BackendInfo


@dataclass(frozen=True, slots=True)
class Account:
    id: str
    name: str
    has_password: bool
    expires_at: str | None  # ISO, UTC
    expired: bool
    whole_database: bool
    patient_ids: tuple[str, ...]

    @classmethod
    def from_wire(cls, d: dict[str, Any]) -> Account:
        return cls(d["id"], d["name"], bool(d["has_password"]), d.get("expires_at"),
                   bool(d["expired"]), bool(d["whole_database"]),
                   tuple(d.get("patient_ids") or ()))


class ServerAdmin:
    def __init__(self, db: Database, secrets: SecretStore) -> None:
        self.db = db
        self.secrets = secrets
        self.settings = SettingsRepo(db)

    def state(self) -> ServerState:
        return ServerState(
            self.settings.get("server_url"), self.settings.get("installation_id"),
            self.settings.get("registered_email"),
            connection.load(self.db, self.secrets) is not None,
            bool(keys.load_secret(self.db.path, UPLOAD_PASSWORD, self.secrets)),
            self.secrets.info(),
        )

    def _client(self) -> CloudClient:
        conn = connection.load(self.db, self.secrets)
        if conn is None:
            raise NotConnectedError(
                "This computer is not connected to the server yet: enter the upload "
                "password first.")
        return conn.client()

    # Registration and the upload password -------------------------------------------
    def register(self, server_url: str, email: str) -> str:
        """Register the practice database; the server mails the upload password."""
        return connection.register_installation(self.db, server_url.strip(), email.strip())

    def connect(self, upload_password: str) -> None:
        """Register this computer with the upload password, and keep both secrets."""
        url = self.settings.get("server_url")
        inst = self.settings.get("installation_id")
        connection.register_device(self.db, self.secrets, url, inst, upload_password)
        keys.save_secret(self.db.path, UPLOAD_PASSWORD, upload_password, self.secrets)

    def resend_upload_password(self) -> str:
        url = self.settings.get("server_url")
        return CloudClient(url).resend_upload_password(self.settings.get("installation_id"))

    def change_upload_password(self, current: str | None, new: str) -> None:
        """Change it on the server (needs the current one), then keep the new one."""
        current = current or keys.load_secret(self.db.path, UPLOAD_PASSWORD, self.secrets)
        if not current:
            raise ValueError("Enter the current upload password.")
        url = self.settings.get("server_url")
        CloudClient(url).change_upload_password(self.settings.get("installation_id"),
                                                current, new)
        keys.save_secret(self.db.path, UPLOAD_PASSWORD, new, self.secrets)

    # Portal ------------------------------------------------------------------------
    def portal_settings(self) -> dict[str, Any]:
        return self._client().server_settings()

    def set_portal_password(self, kind: str, password: str) -> dict[str, Any]:
        if kind not in PORTAL_PASSWORDS:
            raise ValueError(kind)
        client = self._client()
        client.set_portal_password(kind, password)
        return client.server_settings()

    def set_switches(self, **switches: bool) -> dict[str, Any]:
        return self._client().set_server_switches(**switches)

    def accounts(self) -> list[Account]:
        return [Account.from_wire(a) for a in self._client().accounts()]

    def create_account(self, name: str, password: str | None,
                       expires_at: dt.datetime | None) -> list[Account]:
        client = self._client()
        client.create_account(name, password or None,
                              expires_at.astimezone(dt.UTC).isoformat() if expires_at else None)
        return [Account.from_wire(a) for a in client.accounts()]

    def delete_account(self, account_id: str) -> list[Account]:
        client = self._client()
        client.delete_account(account_id)
        return [Account.from_wire(a) for a in client.accounts()]

    def set_expiry(self, account_id: str, expires_at: dt.datetime | None) -> list[Account]:
        client = self._client()
        client.set_account_expiry(
            account_id, expires_at.astimezone(dt.UTC).isoformat() if expires_at else None)
        return [Account.from_wire(a) for a in client.accounts()]

    def set_shares(self, account_id: str, whole_database: bool,
                   patient_ids: list[str]) -> list[Account]:
        client = self._client()
        client.set_shares(account_id, whole_database, patient_ids)
        return [Account.from_wire(a) for a in client.accounts()]

    def set_patient_password(self, patient_id: str, password: str | None) -> None:
        """A patient's own password for his page (None removes it)."""
        self._client().set_patient_password(patient_id, password)

    def setup_link(self, account_id: str, email: str | None) -> str:
        return self._client().account_setup_link(account_id, email or None)

    # Groups and permissions ----------------------------------------------------------
    def groups(self) -> list[dict[str, Any]]:
        """The practice's groups: name, permissions, members, and each member's email for
        one-time codes."""
        return list(self._client()._call("GET", "/api/v1/server/groups").json())

    def set_group(self, name: str, permissions: list[str],
                  members: dict[str, str]) -> list[dict[str, Any]]:
        """Create or replace the group `name` ({member key: email for his codes})."""
        client = self._client()
        client._call("PUT", f"/api/v1/server/groups/{quote(name, safe='')}",
                     json={"permissions": permissions, "members": members})
        return list(client._call("GET", "/api/v1/server/groups").json())
