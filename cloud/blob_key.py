"""The cloud's master key for what it keeps encrypted at rest (blobs, upload parts,
exports)."""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from contextlib import suppress

from cloud.config import Settings


def key_of(text: str, name: str) -> bytes:
    """32 bytes from base64 text; the message names the setting, never the value."""
    try:
        key = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != 32:
        raise ValueError(f"{name} must be 32 bytes in base64")
    return key


def blob_key(settings: Settings) -> bytes:
    """The folder store's master key: configured, else `<data>/blob.key`, made on
    first start with 256 random bits and readable by the server's user only."""
    if settings.blob_key:
        return key_of(settings.blob_key, "CHAIRSIDE_CLOUD_BLOB_KEY")
    path = settings.data_dir / "blob.key"
    if not path.exists():
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        with suppress(FileExistsError):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(base64.b64encode(secrets.token_bytes(32)).decode())
    return key_of(path.read_text().strip(), str(path))
