"""Secrets behind one interface over `keyring`, which also says how safe it is.

Nothing secret is ever written to a plain file, a log or an exception message by this
module; the one exception — the database key file — exists only when the user agreed
to it after being told that no secure keyring is available (see app.store.keys).
"""

from __future__ import annotations

from dataclasses import dataclass

import keyring
import keyring.backend
import keyring.errors

SERVICE = "Chairside"

# Backends that keep secrets in plain or weakly protected files, or nowhere at all.
_INSECURE = {
    "keyring.backends.fail.Keyring",
    "keyring.backends.null.Keyring",
    "keyrings.alt.file.PlaintextKeyring",
    "keyrings.alt.file.EncryptedKeyring",
}


@dataclass(frozen=True, slots=True)
class BackendInfo:
    name: str
    secure: bool

    def describe(self) -> str:
        if self.secure:
            return "Passwords and keys are kept in the system keyring."
        return (
            "No secure system keyring is available on this computer: passwords and keys "
            "cannot be protected by the system."
        )


_LOCKED = "The system keyring could not be {}; it may be locked."


class SecretError(RuntimeError):
    pass


class SecretStore:
    """Get, set and delete secrets by name under the Chairside service."""

    def __init__(self, backend: keyring.backend.KeyringBackend | None = None) -> None:
        self._backend = backend

    @property
    def backend(self) -> keyring.backend.KeyringBackend:
        return self._backend or keyring.get_keyring()

    def info(self) -> BackendInfo:
        b = self.backend
        name = f"{type(b).__module__}.{type(b).__name__}"
        chainer = getattr(b, "backends", None)
        if name.endswith("chainer.ChainerBackend") and chainer is not None:
            secure = any(
                f"{type(x).__module__}.{type(x).__name__}" not in _INSECURE for x in chainer
            )
            return BackendInfo(name, secure and bool(chainer))
        priority = getattr(type(b), "priority", 0)
        try:
            prio_ok = float(priority) > 0
        except Exception:
            prio_ok = True
        return BackendInfo(name, name not in _INSECURE and prio_ok)

    def get(self, name: str) -> str | None:
        try:
            return self.backend.get_password(SERVICE, name)
        except keyring.errors.KeyringError:
            raise SecretError(_LOCKED.format("read")) from None

    def set(self, name: str, value: str) -> None:
        try:
            self.backend.set_password(SERVICE, name, value)
        except keyring.errors.KeyringError:
            raise SecretError(_LOCKED.format("written")) from None

    def delete(self, name: str) -> None:
        try:
            self.backend.delete_password(SERVICE, name)
        except keyring.errors.PasswordDeleteError:
            pass
        except keyring.errors.KeyringError:
            raise SecretError(_LOCKED.format("changed")) from None
