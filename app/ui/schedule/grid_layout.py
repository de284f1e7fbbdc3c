"""Where things go in the book's time grid: columns (a chair on a day), slots, and the
lanes that put overlapping appointments of one column side by side. No painting here."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from app.store.schedule.dto import BookEntry, BookPage, ChairRow, ProviderWeek

DAY_START = 7 * 60  # minutes after midnight: the first row of the grid
DAY_END = 21 * 60
SLOT = 15  # minutes in a row
SLOTS = (DAY_END - DAY_START) // SLOT
NO_CHAIR = "No chair"


@dataclass(frozen=True, slots=True)
class GridColumn:
    day: dt.date
    chair_id: str | None
    title: str


class Placed(NamedTuple):
    """An entry where the grid shows it (a tuple: a busy week lays out thousands)."""

    entry: BookEntry
    column: int
    lane: int
    lanes: int
    start_min: int  # local minutes after midnight, clipped to the grid
    end_min: int


def columns_of(page: BookPage, chairs: list[ChairRow] | None = None) -> list[GridColumn]:
    """One column per chair and day; a "No chair" column when there are no chairs or an
    appointment of these days has none (or a chair taken out of the book)."""
    chairs = page.chairs if chairs is None else chairs
    known = {c.id for c in chairs}
    homeless = not chairs or any(e.chair_id not in known for e in page.entries)
    out: list[GridColumn] = []
    for i in range(page.days):
        day = page.first + dt.timedelta(days=i)
        prefix = f"{day:%a %d}\n" if page.days > 1 else ""
        out += [GridColumn(day, c.id, prefix + c.name) for c in chairs]
        if homeless:
            out.append(GridColumn(day, None, prefix + NO_CHAIR))
    return out


@lru_cache(maxsize=4096)
def local_minutes(when: dt.datetime) -> tuple[dt.date, int]:
    """The local day and minute of an instant (cached: the chairs of a busy practice
    share their start times, and the time zone lookup is what costs)."""
    local = when.astimezone()
    return local.date(), local.hour * 60 + local.minute


def place(  # noqa: C901, PLR0912
    entries: list[BookEntry], columns: list[GridColumn], provider: str | None = None
) -> list[Placed]:
    """Entries laid out in their columns; overlapping ones of a column share its width
    in lanes (a clash stays visible, never hidden under another)."""
    index = {(c.day, c.chair_id): i for i, c in enumerate(columns)}
    known = {c.chair_id for c in columns}
    by_column: dict[int, list[tuple[int, str, int, BookEntry]]] = {}
    for e in entries:
        if provider and e.doctor_id != provider:
            continue
        day, start = local_minutes(e.starts_at)
        col = index.get((day, e.chair_id if e.chair_id in known else None))
        if col is None:
            continue
        end = start + e.duration_minutes
        if end > DAY_END:
            end = DAY_END
        if start < DAY_START:
            start = DAY_START
        if end <= start:  # outside the hours shown: still reachable at the edge
            start = min(start, DAY_END - SLOT)
            end = start + SLOT
        by_column.setdefault(col, []).append((start, e.id, end, e))
    out: list[Placed] = []
    for col, items in by_column.items():
        items.sort()
        # A group is a run of appointments that overlap one another in a chain; its
        # lanes split the column's width. Only those still running are compared.
        group: list[tuple[BookEntry, int, int, int]] = []
        lanes_end: list[int] = []  # per lane, when its last appointment ends
        reach = -1  # the latest end in the group
        for start, _id, end, e in items:
            if start >= reach and group:
                out += _close(group, col, len(lanes_end))
                group, lanes_end = [], []
            for lane, busy_until in enumerate(lanes_end):
                if busy_until <= start:
                    lanes_end[lane] = end
                    break
            else:
                lane = len(lanes_end)
                lanes_end.append(end)
            group.append((e, start, end, lane))
            if end > reach:
                reach = end
        out += _close(group, col, len(lanes_end))
    return out


def _close(group: list[tuple[BookEntry, int, int, int]], col: int, lanes: int) -> list[Placed]:
    return [Placed(e, col, lane, lanes, start, end) for e, start, end, lane in group]


def working_span(
    day: dt.date, hours: dict[str, ProviderWeek], provider: str | None
) -> tuple[int, int] | None:
    """The part of a day that is worked: the chosen provider's hours, or from the first
    provider's start to the last one's end. (0, 0) for a day nobody works; None when no
    hours were set (nothing is shaded)."""
    weeks = [hours[provider]] if provider in hours else [] if provider else list(hours.values())
    if not weeks:
        return None
    spans = [w.days[day.weekday()] for w in weeks]
    worked = [s for s in spans if s is not None]
    if not worked:
        return (0, 0)
    return min(s[0] for s in worked), max(s[1] for s in worked)
