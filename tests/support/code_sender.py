"""The one-time code sender of tests: keeps each code sent, for the test to type."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class KeptCodes:
    sent: list[tuple[str, str]] = field(default_factory=list)  # (address, code)

    def send(self, contact: Any, code: str, practice: str) -> str:
        self.sent.append((contact.email or contact.mobile, code))
        return contact.email or contact.mobile

    @property
    def last(self) -> str:
        return self.sent[-1][1]
