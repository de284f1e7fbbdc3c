"""Secrets: upload passwords (argon2id) and device tokens (sha256 of 256 random bits)."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import secrets
import threading
from collections.abc import Iterator

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from cloud.crud import Refused

_hasher = PasswordHasher()  # argon2id with the library's current recommended cost
# Letters and digits a person can read back from a mail without confusing them.
_PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
PASSWORD_LENGTH = 16
TOKEN_PREFIX = "csd_"


def new_upload_password() -> str:
    return "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(PASSWORD_LENGTH))


# argon2id takes tens of megabytes and most of a core per hash: a few at a time, so that
# a flood of password guesses can not starve the server; beyond them, "busy".
HASH_SLOTS = 4
HASH_WAIT_S = 1.0
RETRY_AFTER_S = 2
_slots = threading.BoundedSemaphore(HASH_SLOTS)


@contextlib.contextmanager
def _slot() -> Iterator[None]:
    if not _slots.acquire(timeout=HASH_WAIT_S):
        raise Refused(503, "the server is busy checking passwords; try again in a moment",
                      {"Retry-After": str(RETRY_AFTER_S)})
    try:
        yield
    finally:
        _slots.release()


def hash_password(password: str) -> str:
    with _slot():
        return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        return False
    with _slot():
        try:
            return _hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False


def new_device_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """Tokens carry 256 random bits, so a plain sha256 is a sufficient verifier."""
    return hashlib.sha256(token.encode()).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def new_installation_id() -> str:
    """Twelve digits: what a person types as the practice database's id."""
    return str(100_000_000_000 + secrets.randbelow(900_000_000_000))
