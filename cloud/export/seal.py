"""The ZIP's password between scheduling and the night's job, sealed with the server's
master key (the one of the blob store, cloud.blobstore.blob_key): AES-256-GCM under a
key derived for this purpose alone, bound to the row that holds it, so a copy of the
database alone does not give the password away. The job wipes it once the ZIP is made.
Also the MAC under which a one-time code is kept (never the code itself).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from contextlib import suppress

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from cloud.blob_key import blob_key
from cloud.config import Settings

NONCE = 12


def _derived(settings: Settings, purpose: bytes, master: bytes | None = None) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=b"chairside data download " + purpose).derive(master or blob_key(settings))


def _old_keys(settings: Settings) -> list[bytes]:
    """Master keys used before (the operator moved to a new one between the night a
    download was asked for and the night it is made)."""
    out: list[bytes] = []
    for text in settings.blob_old_keys.split(","):
        with suppress(ValueError):
            key = base64.b64decode(text.strip(), validate=True)
            if len(key) == 32:
                out.append(key)
    return out


def seal(settings: Settings, secret: str, bound_to: str) -> str:
    nonce = secrets.token_bytes(NONCE)
    box = AESGCM(_derived(settings, b"password v1")).encrypt(
        nonce, secret.encode(), bound_to.encode())
    return base64.b64encode(nonce + box).decode()


def unseal(settings: Settings, sealed: str, bound_to: str) -> str:
    """The secret; ValueError if the box was changed, moved to another row, or sealed
    under another key."""
    raw = base64.b64decode(sealed)
    for master in [None, *_old_keys(settings)]:
        with suppress(InvalidTag):
            return AESGCM(_derived(settings, b"password v1", master)).decrypt(
                raw[:NONCE], raw[NONCE:], bound_to.encode()).decode()
    raise ValueError("the sealed password can not be opened with this server's keys")


def code_mac(settings: Settings, code_id: str, code: str) -> str:
    return hmac.new(_derived(settings, b"code v1"), f"{code_id}|{code}".encode(),
                    hashlib.sha256).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a, b)
