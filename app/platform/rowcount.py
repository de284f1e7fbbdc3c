"""How many rows an UPDATE or DELETE matched, read from its result.

Session.execute is typed as giving any Result; a DML statement's result is the
cursor's (CursorResult), the one kind with a row count. Read here, in one place.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, Result


def rowcount(result: Result[Any]) -> int:
    """The rows `result`'s UPDATE or DELETE matched (0 when the driver gives none)."""
    return int(cast("CursorResult[Any]", result).rowcount or 0)
