"""This PC's connection to the cloud: server address and ids in the practice database
settings, the device token where app.store.keys keeps the database's secrets: the OS
keyring or, on a PC without a secure one whose user agreed to a key file for this
database, `<config>/keys/<id>.device-token` beside that key file, readable by the user
alone. Never in a log or a message."""

from __future__ import annotations

import platform
from dataclasses import dataclass

from app.core.options import OPTIONS
from app.platform.secrets import SecretStore
from app.store import keys
from app.store.db import Database
from app.store.settings_repo import SettingsRepo
from sync_agent.client import CloudClient

TOKEN = "device-token"


@dataclass(frozen=True, slots=True)
class Connection:
    server_url: str
    installation_id: str
    device_id: str
    token: str

    def client(self) -> CloudClient:
        return CloudClient(self.server_url, self.token)


def load(db: Database, secrets: SecretStore) -> Connection | None:
    """The saved connection, or None when this PC is not connected yet."""
    settings = SettingsRepo(db)
    url = settings.get("server_url")
    inst = settings.get("installation_id")
    device = settings.get("device_id")
    if not (url and inst and device):
        return None
    token = keys.load_secret(db.path, TOKEN, secrets)
    if not token:
        return None
    return Connection(url, inst, device, token)


def register_installation(db: Database, server_url: str, email: str) -> str:
    """Register this practice database; the server mails the upload password."""
    inst = CloudClient(server_url).register_installation(email)
    settings = SettingsRepo(db)
    settings.set("server_url", server_url.rstrip("/"))
    settings.set("installation_id", inst)
    settings.set("registered_email", email)
    return inst


def practice_name(settings: SettingsRepo) -> str:
    """The practice's name, unless it is still the one every new database has."""
    name = str(settings.get("practice_name") or "")
    return "" if name == OPTIONS["practice_name"].default else name


def register_device(
    db: Database, secrets: SecretStore, server_url: str, installation_id: str, upload_password: str
) -> Connection:
    """Register this PC with the installation's upload password; keep its token."""
    assert db.identity is not None
    settings = SettingsRepo(db)
    answer = CloudClient(server_url).register_device(
        installation_id, upload_password, db.identity.node_id, platform.node()[:200],
        practice_name(settings),
    )
    keys.save_secret(db.path, TOKEN, answer["token"], secrets)
    settings.set("server_url", server_url.rstrip("/"))
    settings.set("installation_id", installation_id)
    settings.set("device_id", answer["device_id"])
    settings.set("institution_code", str(answer.get("institution_code") or ""))
    return Connection(server_url.rstrip("/"), installation_id, answer["device_id"], answer["token"])
