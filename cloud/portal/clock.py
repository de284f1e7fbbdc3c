"""The portal's one clock (UTC); tests replace `now` to move time without sleeping.
Days and times are shown in the practice's time zone, a setting of its installation."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session

from cloud.models import Installation, utcnow


def now() -> dt.datetime:
    return utcnow()


def zone(session: Session, installation_id: str) -> dt.tzinfo:
    inst = session.get(Installation, installation_id)
    try:
        return ZoneInfo(inst.time_zone) if inst and inst.time_zone else dt.UTC
    except (ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def today(tz: dt.tzinfo) -> dt.date:
    return now().astimezone(tz).date()


def shown(when: str | dt.datetime | None, tz: dt.tzinfo) -> str:
    """The portal's one format of a moment: YYYY-MM-DD HH:MM in the practice's zone
    (a moment without an offset is taken as UTC, as the cloud stores them)."""
    if not when:
        return ""
    try:
        at = when if isinstance(when, dt.datetime) else dt.datetime.fromisoformat(when)
    except ValueError:
        return ""
    at = at if at.tzinfo else at.replace(tzinfo=dt.UTC)
    return at.astimezone(tz).strftime("%Y-%m-%d %H:%M")
