"""The random key that encrypts a practice database (SQLCipher), and where it is kept.

The key lives in the OS keyring. Only when no secure keyring exists, and the user
agreed after being told so, is it written to a file readable by the user alone.

The image store's key (app.imaging.sealed) is a second random 256-bit key kept the
same way, as a secret of the database (`image_key`).
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

from app.platform.paths import config_dir
from app.platform.secrets import SecretError, SecretStore
from app.store.errors import InsecureKeyringError, MissingKeyError, StoreError


def _slot(db_path: Path) -> str:
    digest = hashlib.sha256(str(db_path.resolve()).encode()).hexdigest()[:24]
    return f"database-key:{digest}"


def key_file_path(db_path: Path) -> Path:
    return config_dir() / "keys" / (_slot(db_path).split(":")[1] + ".key")


def _write_key_file(path: Path, key: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, key.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def load_key(db_path: Path, store: SecretStore) -> str:
    """The key of an existing database; MissingKeyError when this PC does not have it."""
    key: str | None = None
    try:
        key = store.get(_slot(db_path))
    except SecretError:
        key = None
    if key is None:
        kf = key_file_path(db_path)
        if kf.exists():
            key = kf.read_text().strip()
    if not key:
        raise MissingKeyError()
    return key


def create_key(db_path: Path, store: SecretStore, allow_key_file: bool) -> str:
    """A new random 256-bit key, stored before it is used."""
    return put_key(db_path, secrets.token_hex(32), store, allow_key_file)


def put_key(db_path: Path, key: str, store: SecretStore, allow_key_file: bool) -> str:
    """Keep `key` as this database's key (a new one, or one a recovery code gave)."""
    info = store.info()
    if info.secure:
        try:
            store.set(_slot(db_path), key)
            return key
        except SecretError as exc:
            if not allow_key_file:
                raise StoreError(str(exc)) from None
    elif not allow_key_file:
        raise InsecureKeyringError(info.name)
    _write_key_file(key_file_path(db_path), key)
    return key


def forget_key(db_path: Path, store: SecretStore) -> None:
    """Forget this database's key on this PC, keyring entry and key file, as a lost
    keyring does; the recovery code's tests stage that loss with it."""
    store.delete(_slot(db_path))
    key_file_path(db_path).unlink(missing_ok=True)


def _secret_file(db_path: Path, name: str) -> Path:
    return key_file_path(db_path).with_suffix(f".{name}")


def save_secret(db_path: Path, name: str, value: str, store: SecretStore) -> None:
    """Keep a secret that belongs to this database (e.g. the device token).

    It goes where the database key went: the keyring, or — only when the user already
    agreed to a key file for this database — a file beside it, readable by the user
    alone."""
    slot = f"{_slot(db_path)}:{name}"
    if store.info().secure:
        store.set(slot, value)
        return
    if not key_file_path(db_path).exists():
        raise InsecureKeyringError(store.info().name)
    _write_key_file(_secret_file(db_path, name), value)


def load_secret(db_path: Path, name: str, store: SecretStore) -> str | None:
    try:
        value = store.get(f"{_slot(db_path)}:{name}")
    except SecretError:
        value = None
    if value is None:
        path = _secret_file(db_path, name)
        if path.exists():
            value = path.read_text().strip() or None
    return value


IMAGE_KEY = "image-key"


def image_key(db_path: Path, store: SecretStore, *, create: bool) -> bytes | None:
    """The key that seals this practice's image store. Made (and kept beside the
    database key) only when `create`: the app makes it, so the agent, starting beside
    it, never races it to make a second one; without it, files stay plain until the
    app has made it."""
    value = load_secret(db_path, IMAGE_KEY, store)
    if value is None:
        if not create:
            return None
        value = secrets.token_hex(32)
        try:
            save_secret(db_path, IMAGE_KEY, value, store)
        except SecretError as exc:
            raise StoreError(str(exc)) from None
    try:
        key = bytes.fromhex(value)
    except ValueError:
        key = b""
    if len(key) != 32:
        raise StoreError("The key of the image store on this computer is damaged.")
    return key
