"""What the data migration dialogs do, without Qt: ask the server for a verification
code to receive another clinic's data, start sending this clinic's data to another
clinic, and read how the migrations went.

Like the Institution window (sync_agent.institution_service) it speaks through this
PC's connection for the program user signed in on it; the server checks that he is an
administrator. Every method talks to the network, so it runs on a worker (ReadOp).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sync_agent.institution_service import Institutions

UNDER_WAY = ("queued", "running")


@dataclass(frozen=True, slots=True)
class VerificationCode:
    code: str
    expires_at: str


@dataclass(frozen=True, slots=True)
class MigrationView:
    id: str
    direction: str  # sent, received
    other_code: str
    other_name: str
    status: str  # queued, running, succeeded, failed
    status_words: str
    reason: str
    moved: int
    images: int
    created_at: str

    @property
    def under_way(self) -> bool:
        return self.status in UNDER_WAY


def _view(d: dict[str, Any]) -> MigrationView:
    return MigrationView(str(d["id"]), str(d["direction"]), str(d["other_code"]),
                         str(d["other_name"]), str(d["status"]), str(d["status_words"]),
                         str(d["reason"]), int(d["moved"]), int(d["images"]),
                         str(d["created_at"]))


class Migrations(Institutions):
    def _migration(self, method: str, path: str, body: dict[str, Any] | None = None
                   ) -> dict[str, Any]:
        found: dict[str, Any] = self._json(method, f"/migration{path}", body)
        return found

    def new_code(self) -> VerificationCode:
        d = self._migration("POST", "/code", {})
        return VerificationCode(str(d["code"]), str(d["expires_at"]))

    def start(self, receiver: str, code: str) -> MigrationView:
        return _view(self._migration("POST", "", {"receiver": receiver.strip(),
                                                  "code": code.strip()}))

    def listing(self) -> list[MigrationView]:
        return [_view(d) for d in self._migration("GET", "")["migrations"]]
