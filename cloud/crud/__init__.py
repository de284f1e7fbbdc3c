"""Data functions: keyword-only, one transaction each, no HTTP in here."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DeviceCtx:
    """The authenticated caller of the sync and upload APIs."""

    id: str
    installation_id: str
    node: str


class Refused(Exception):
    """A request refused as a whole, with the HTTP status and the reason to show."""

    def __init__(self, status: int, reason: str, headers: dict[str, str] | None = None):
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.headers = headers or {}
