"""Slowing password guessing: after FREE failures within WINDOW under one key (an
account, an address, an installation's general password), each further attempt has to
wait, twice as long after every new failure, up to MAX_WAIT. A refused attempt is not
checked at all, so it tells nothing about the password."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from cloud.portal import clock
from cloud.portal.models import LoginFailure, aware

WINDOW = dt.timedelta(minutes=15)
FREE = 5
FIRST_WAIT_S = 30.0
MAX_WAIT_S = WINDOW.total_seconds()


def wait_seconds(session: Session, keys: Sequence[str]) -> float:
    """How long the next attempt under any of `keys` has to wait (0: it may go)."""
    now = clock.now()
    longest = 0.0
    for key in keys:
        n, last = session.execute(
            select(func.count(LoginFailure.id), func.max(LoginFailure.at))
            .where(LoginFailure.key == key, LoginFailure.at > now - WINDOW)
        ).one()
        if n < FREE or last is None:
            continue
        wait = min(FIRST_WAIT_S * 2 ** (n - FREE), MAX_WAIT_S)
        left = wait - (now - aware(last)).total_seconds()
        longest = max(longest, left)
    return max(longest, 0.0)


def failed(session: Session, keys: Sequence[str]) -> None:
    now = clock.now()
    for key in keys:
        session.add(LoginFailure(key=key[:200], at=now))
    session.execute(delete(LoginFailure).where(LoginFailure.at < now - 2 * WINDOW))
    session.commit()


def succeeded(session: Session, key: str) -> None:
    """A right password clears its account's count (an address's count stays)."""
    session.execute(delete(LoginFailure).where(LoginFailure.key == key))
    session.commit()
