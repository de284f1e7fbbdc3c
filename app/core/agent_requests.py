"""What the app may ask of the sync agent, by name: the kinds of the requests table.

Both processes import this one list: the app writes only these kinds, and the agent
refuses any other (a request written by a newer app, or by hand) rather than taking
it for something it knows.
"""

from __future__ import annotations

from enum import StrEnum


class RequestKind(StrEnum):
    SYNC_NOW = "sync_now"  # push and pull now, automatic update on or off
    UPDATE_ALL = "update_all"  # queue every record whole, then sync
    RETRY_FAILED = "retry_failed"  # the changes and files that failed go again
    RECONCILE = "reconcile"  # compare with the cloud's copy and repair the differences
    STOP = "stop"  # the agent exits (an agent of another build, replaced)

    @classmethod
    def of(cls, text: str) -> RequestKind | None:
        """The kind a stored request names; None when it names none of ours."""
        try:
            return cls(text)
        except ValueError:
            return None
