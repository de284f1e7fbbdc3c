"""One user per username across the practice's PCs.

Two PCs that each make a user with the same name while offline meet when they sync.
The one with the lower id (ids are time-ordered: the one made first) is kept; the
other is `merged_into` it, a synced change like any other. Every PC that notices makes
the same change, so they agree whoever notices first. The merged id stays: patients
and records that name it resolve to the kept user when read (`aliases`), so an admin
can split the two again if they were two people who picked the same name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.store.db import Database
from app.store.models import User
from app.store.sync.outbox import utc_now_text

_MAX_CHAIN = 32


def resolve(merged_into: Mapping[str, str | None], user_id: str) -> str:
    """The user `user_id` finally stands for (itself when not merged)."""
    seen = {user_id}
    current = user_id
    for _ in range(_MAX_CHAIN):
        nxt = merged_into.get(current)
        if nxt is None or nxt in seen:
            break
        seen.add(nxt)
        current = nxt
    return current


def alias_map(session: Session) -> dict[str, tuple[str, ...]]:
    """For every kept user, the ids merged into him (at any depth)."""
    links: dict[str, str | None] = {
        uid: kept for uid, kept in session.execute(select(User.id, User.merged_into))
    }
    out: dict[str, list[str]] = {}
    for uid, kept in links.items():
        if kept is not None:
            out.setdefault(resolve(links, uid), []).append(uid)
    return {k: tuple(sorted(v)) for k, v in out.items()}


def merge_duplicates(db: Database) -> int:
    """Merge users not yet merged that share a username; returns how many were merged.

    Cheap when there is nothing to do (one grouped query on an indexed column), so it
    runs after every pulled page."""
    with db.read() as s:
        names: list[str] = list(s.scalars(
            select(func.lower(User.username))
            .where(User.merged_into.is_(None))
            .group_by(func.lower(User.username))
            .having(func.count() > 1)
        ))
    if not names:
        return 0
    merged = 0
    now = utc_now_text()
    with db.write() as s:
        users = s.scalars(
            select(User).where(User.merged_into.is_(None), func.lower(User.username).in_(names))
        )
        for group in _groups(users):
            kept = min(group, key=lambda u: u.id)
            for u in group:
                if u is not kept:
                    u.merged_into = kept.id
                    u.updated_at = now
                    merged += 1
    return merged


def _groups(users: Iterable[User]) -> list[list[User]]:
    by_name: dict[str, list[User]] = {}
    for u in users:
        by_name.setdefault(u.username.lower(), []).append(u)
    return [g for g in by_name.values() if len(g) > 1]
