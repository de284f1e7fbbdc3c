"""The practice's recovery code: the way back to the database and the image store when
this computer's keyring is lost (a reinstalled system, a new PC with a copy of the
data folder).

When a practice database is created, a random code is made and shown once to the
admin, to print and keep away from the computer. Beside the database, a small file
(<database>.recovery) keeps both keys — the database key and the image store key —
sealed with a key derived from the code (scrypt, then AES-256-GCM from
`cryptography`). The code is 25 characters of Crockford's base32 (125 random bits),
so the file is as safe as the code is secret. A new code replaces the file: the old
code stops working at once.

Restoring checks the code against the file, then that the database opens with the
key it gave, and only then puts the keys back where this computer keeps them
(keyring, or the key file the user agreed to); a wrong code changes nothing.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from app.platform.secrets import SecretStore
from app.store import keys
from app.store.errors import StoreError

if TYPE_CHECKING:
    from app.store.db import Database

FORMAT = "chairside-recovery/1"
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O, U
_GROUPS, _GROUP = 5, 5
# Work enough that guessing is slow even for a weak code; a fraction of a second here.
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**15, 8, 1


class WrongRecoveryCodeError(StoreError):
    def __init__(self) -> None:
        super().__init__(
            "This recovery code does not open this practice database. Check it against "
            "the printed copy; nothing was changed."
        )


class NoRecoveryFileError(StoreError):
    def __init__(self) -> None:
        super().__init__(
            "This practice database has no recovery code: its keys can only come from "
            "the computer it was made on."
        )


def recovery_file(db_path: Path) -> Path:
    return Path(str(db_path) + ".recovery")


def has_code(db_path: Path) -> bool:
    return recovery_file(db_path).is_file()


def new_code() -> str:
    chars = "".join(secrets.choice(_ALPHABET) for _ in range(_GROUPS * _GROUP))
    return "-".join(chars[i:i + _GROUP] for i in range(0, len(chars), _GROUP))


def normalise(code: str) -> str:
    """What the user typed, as the code: case, spaces and dashes ignored, and the
    letters people confuse with digits read as those digits."""
    cleaned = code.upper().translate(str.maketrans("OIL", "011"))
    return "".join(c for c in cleaned if c in _ALPHABET)


def _wrapping_key(code: str, salt: bytes) -> AESGCM:
    kdf = Scrypt(salt=salt, length=32, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P)
    return AESGCM(kdf.derive(normalise(code).encode()))


def write(db_path: Path, db_key: str, image_key: bytes | None) -> str:
    """Seal the keys under a new code, replacing any earlier one; returns the code."""
    code = new_code()
    salt, nonce = secrets.token_bytes(16), secrets.token_bytes(12)
    payload = json.dumps({"db_key": db_key,
                          "image_key": image_key.hex() if image_key else None}).encode()
    sealed = _wrapping_key(code, salt).encrypt(nonce, payload, FORMAT.encode())
    body = {"format": FORMAT, "kdf": {"name": "scrypt", "n": _SCRYPT_N, "r": _SCRYPT_R,
                                      "p": _SCRYPT_P},
            "salt": base64.b64encode(salt).decode(), "nonce": base64.b64encode(nonce).decode(),
            "sealed": base64.b64encode(sealed).decode()}
    target = recovery_file(db_path)
    tmp = target.with_name(target.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, json.dumps(body, indent=1).encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, target)
    return code


def create_for(db: Database, secrets_store: SecretStore) -> str:
    """A (new) code for an open database, from the keys this computer holds."""
    return write(db.path, keys.load_key(db.path, secrets_store), db.image_key)


def unseal(db_path: Path, code: str) -> tuple[str, bytes | None]:
    """(database key, image key) from the recovery file; WrongRecoveryCodeError."""
    path = recovery_file(db_path)
    if not path.is_file():
        raise NoRecoveryFileError()
    try:
        body = json.loads(path.read_text())
        if body.get("format") != FORMAT:
            raise ValueError("unknown format")
        salt, nonce, sealed = (base64.b64decode(body[k]) for k in ("salt", "nonce", "sealed"))
    except (ValueError, KeyError, TypeError):
        raise StoreError("The recovery file beside this practice database is damaged.") from None
    try:
        payload = json.loads(_wrapping_key(code, salt).decrypt(nonce, sealed, FORMAT.encode()))
    except InvalidTag:
        raise WrongRecoveryCodeError() from None
    image = payload.get("image_key")
    return str(payload["db_key"]), bytes.fromhex(image) if image else None


def restore(db_path: Path, code: str, secrets_store: SecretStore,
            allow_key_file: bool = False) -> None:
    """Put the keys the code opens back on this computer, once the database has been
    seen to open with them. Raises WrongRecoveryCodeError / StoreError; on any error
    nothing on this computer was changed."""
    from app.store.db import Database  # the store's engine; only needed here

    db_path = Path(db_path)
    db_key, image_key = unseal(db_path, code)
    db = Database(db_path, db_key)
    try:
        with db.reader.connect():  # WrongKeyError when the key does not open it
            pass
    finally:
        db.close()
    keys.put_key(db_path, db_key, secrets_store, allow_key_file)
    if image_key is not None:
        keys.save_secret(db_path, keys.IMAGE_KEY, image_key.hex(), secrets_store)
