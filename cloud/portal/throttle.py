"""Slowing password guessing, before any password is hashed.

Failures are counted under keys. A narrow key (an address, an account from one
address) lets FREE failures within WINDOW go; a wide key (an account or an
installation from anywhere) lets FREE_WIDE go, so that an attacker spreading guesses
over many addresses is slowed too, without a few strangers' guesses locking the owner
out. Past its allowance, each further attempt under a key has to wait, twice as long
after every new failure, up to MAX_WAIT_S; failures older than WINDOW no longer count.
A refused attempt is not checked at all, so it tells nothing about the password.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from cloud.crud import Refused
from cloud.portal import clock
from cloud.portal.models import LoginFailure, aware

WINDOW = dt.timedelta(minutes=15)
FREE = 5
FREE_WIDE = 20
FIRST_WAIT_S = 30.0
MAX_WAIT_S = WINDOW.total_seconds()


def _wait(session: Session, key: str, free: int, now: dt.datetime) -> float:
    n, last = session.execute(
        select(func.count(LoginFailure.id), func.max(LoginFailure.at))
        .where(LoginFailure.key == key[:200], LoginFailure.at > now - WINDOW)
    ).one()
    if n < free or last is None:
        return 0.0
    wait: float = min(FIRST_WAIT_S * 2 ** (n - free), MAX_WAIT_S)
    return wait - (now - aware(last)).total_seconds()


def wait_seconds(session: Session, keys: Sequence[str], wide: Sequence[str] = ()) -> float:
    """How long the next attempt under any of `keys` (narrow) or `wide` has to wait
    (0: it may go)."""
    now = clock.now()
    longest = 0.0
    for free, group in ((FREE, keys), (FREE_WIDE, wide)):
        for key in group:
            longest = max(longest, _wait(session, key, free, now))
    return max(longest, 0.0)


def refuse_if_slowed(session: Session, keys: Sequence[str], wide: Sequence[str] = ()) -> None:
    """Refused(429) with Retry-After while any key has to wait."""
    wait = wait_seconds(session, keys, wide)
    if wait > 0:
        raise Refused(429, f"too many wrong passwords; try again in {int(wait) + 1} seconds",
                      {"Retry-After": str(int(wait) + 1)})


def _writing(session: Session) -> None:
    """Start a writing transaction that takes the write lock up front: on SQLite a read
    turned into a write fails at once ("database is locked") while others write, as
    they do under a flood of guesses."""
    if session.in_transaction():
        session.commit()
    session.connection(execution_options={"sqlite_immediate": True})


def failed(session: Session, keys: Sequence[str]) -> None:
    _writing(session)
    now = clock.now()
    for key in keys:
        session.add(LoginFailure(key=key[:200], at=now))
    session.execute(delete(LoginFailure).where(LoginFailure.at < now - 2 * WINDOW))
    session.commit()


def succeeded(session: Session, key: str) -> None:
    """A right password clears its account's count (an address's count stays)."""
    _writing(session)
    session.execute(delete(LoginFailure).where(LoginFailure.key == key[:200]))
    session.commit()
