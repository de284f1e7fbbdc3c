"""Errors the store raises, each with a message a clinic can act on."""

from __future__ import annotations


class StoreError(Exception):
    """Base of the store's errors; str() is meant for the user."""


class WrongKeyError(StoreError):
    def __init__(self) -> None:
        super().__init__(
            "This practice database cannot be opened: the key kept on this computer does "
            "not unlock it, or the file is not a Chairside database."
        )


class MissingKeyError(StoreError):
    def __init__(self) -> None:
        super().__init__(
            "This practice database is encrypted and its key is not on this computer. "
            "Restore the key from the computer that created it, or open another database."
        )


class InsecureKeyringError(StoreError):
    """No secure keyring: the caller must ask the user before a key file is used."""

    def __init__(self, backend: str) -> None:
        super().__init__(
            "This computer has no secure keyring (the system's safe place for passwords) "
            "to keep the key of the practice database. The key can be kept in a file that "
            "only your user account can read instead."
        )
        self.backend = backend


class DatabaseTooNewError(StoreError):
    def __init__(self, revision: str) -> None:
        super().__init__(
            "This practice database was saved by a newer version of Chairside "
            f"(schema {revision}). Update Chairside on this computer to open it."
        )


class DiskFullError(StoreError):
    """The disk or the database file refused a write; the transaction was rolled back."""

    FULL = "The disk is full: nothing was saved; free space and try again."
    READ_ONLY = (
        "The practice database cannot be written (the file or its folder is read-only): "
        "nothing was saved; ask whoever manages this computer to allow it, and try again."
    )

    def __init__(self, read_only: bool = False) -> None:
        super().__init__(self.READ_ONLY if read_only else self.FULL)
        self.read_only = read_only


class NotFoundError(StoreError):
    pass


class PermissionDeniedError(StoreError):
    pass


class HardDeleteError(StoreError):
    def __init__(self) -> None:
        super().__init__("Synced records are never deleted; they are marked deleted instead.")
