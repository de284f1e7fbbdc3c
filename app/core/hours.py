"""A provider's working hours: per weekday one span "HH:MM-HH:MM", or none (a day off).
Stored and synced as that text, one field per weekday, so two PCs editing different
days of the same provider both keep their change."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # date.weekday() order
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_SPAN = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")

Span = tuple[int, int]  # minutes after midnight, start < end
Week = Mapping[str, Span | None]  # weekday key -> span, None for a day off


class HoursError(ValueError):
    pass


def parse_span(text: str | None) -> Span | None:
    """'08:00-17:30' -> (480, 1050); None or '' -> None (a day off)."""
    if not text:
        return None
    m = _SPAN.match(text.strip())
    if not m:
        raise HoursError("Working hours look like 08:00-17:30.")
    start = int(m.group(1)) * 60 + int(m.group(2))
    end = int(m.group(3)) * 60 + int(m.group(4))
    if end > 24 * 60 or end <= start:
        raise HoursError("A working day ends after it starts.")
    return start, end


def format_span(span: Span | None) -> str | None:
    if span is None:
        return None
    (a, b) = span
    return f"{a // 60:02d}:{a % 60:02d}-{b // 60:02d}:{b % 60:02d}"


def span_text(span: Span | None) -> str:
    """As the desk reads it: '08:00–17:30', or 'day off'."""
    text = format_span(span)
    return "day off" if text is None else text.replace("-", "–")


def outside(week: Week, start: dt.datetime, minutes: int) -> bool:
    """True when [start, start+minutes) — local time — is not inside that day's hours.
    An appointment running past midnight is outside."""
    local = start.astimezone() if start.tzinfo else start
    span = week.get(WEEKDAYS[local.weekday()])
    if span is None:
        return True
    first = local.hour * 60 + local.minute
    return first < span[0] or first + minutes > span[1]
