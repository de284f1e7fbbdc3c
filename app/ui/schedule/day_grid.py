"""The book's time grid, painted in one widget over the page it shows (no widget per
appointment, so a week of ten busy chairs paints at once). Mouse: drag over free
slots to book, drag an appointment to move it, drag its lower edge to change its
length, double-click to open. Keys: arrows move, Enter opens, Ins books, Del cancels."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from PySide6.QtCore import QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QResizeEvent,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

from app.store.schedule.dto import BookEntry, BookPage
from app.ui.schedule.grid_layout import (
    DAY_END,
    DAY_START,
    SLOT,
    SLOTS,
    GridColumn,
    Placed,
    columns_of,
    place,
    working_span,
)

HEADER = 34
GUTTER = 52
ROW = 18
EDGE = 5  # pixels at an appointment's lower edge that resize it
WORDS_WIDTH = 40  # a narrower box (a busy week) shows its colour and frame, no words
COLOURS = {
    "booked": "#cfe3f7",
    "arrived": "#fde9a9",
    "in_chair": "#f6c89f",
    "done": "#cdeccd",
    "cancelled": "#e6e6e6",
    "no_show": "#efd0d0",
}
_FILL = {status: QColor(colour) for status, colour in COLOURS.items()}
_PEN = QPen(QColor("#8aa9c8"), 1)
_CLASH_PEN = QPen(QColor("#c62828"), 2)
_SELECTED_PEN = QPen(QColor("#1f5fbf"), 2)
_TEXT = QColor("#202020")
_OFF = QColor("#eeeeee")  # outside working hours
LABELS = {
    "booked": "",
    "arrived": "Arrived",
    "in_chair": "In chair",
    "done": "Completed",
    "cancelled": "Cancelled",
    "no_show": "No-show",
}


@dataclass(frozen=True, slots=True)
class SlotPick:
    """A place in the grid the user picked: to book there, or to move something to."""

    day: dt.date
    chair_id: str | None
    starts_at: dt.datetime  # local, aware
    minutes: int


@dataclass(slots=True)
class _Drag:
    kind: str  # "book", "move", "resize"
    origin: QPoint
    column: int
    slot: int  # where the press was
    entry: BookEntry | None = None
    grab_slots: int = 0  # how far below an appointment's start it was taken
    to_column: int = 0
    to_slot: int = 0
    moved: bool = False


class DayGrid(QWidget):
    bookRequested = Signal(object)  # SlotPick
    moveRequested = Signal(object, object)  # BookEntry, SlotPick
    openRequested = Signal(object)  # BookEntry
    cancelRequested = Signal(object)  # BookEntry

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("bookGrid")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.page: BookPage | None = None
        self.columns: list[GridColumn] = []
        self.placed: list[Placed] = []
        self.provider: str | None = None
        self.default_minutes = 30
        # (column, slot) of the keyboard's cell; not `cursor`, which is QWidget's mouse cursor
        self.cursor_cell = (0, (9 * 60 - DAY_START) // SLOT)
        self.selected: str | None = None
        self._drag: _Drag | None = None
        self._texts: dict[str, str] = {}
        # Of `placed`, for the current width: (left, top, right, bottom), as plain numbers
        # for hit-testing (a QRect each is what a busy week can not afford).
        self._rects: list[tuple[int, int, int, int]] = []
        # What paintEvent draws, worked out once per layout: the frames by colour and
        # pen (one drawRects each), and which boxes are big enough for words.
        self._batches: dict[tuple[str, bool], list[QRect]] = {}
        self._worded: list[tuple[int, QRect]] = []
        self._laid_width = -1
        self._off: list[QRect] = []  # off-hours of the columns, shaded

    # The model ------------------------------------------------------------------------
    def show_page(self, page: BookPage) -> None:
        self.page = page
        self.columns = columns_of(page)
        self._drag = None
        self._relayout()

    def set_provider(self, provider: str | None) -> None:
        self.provider = provider
        self._relayout()

    def _relayout(self) -> None:
        entries = self.page.entries if self.page else []
        self.placed = place(entries, self.columns, self.provider)
        self._texts = {}  # filled as boxes big enough for words are painted
        self._layout_rects()
        col, slot = self.cursor_cell
        self.cursor_cell = (min(col, max(len(self.columns) - 1, 0)), slot)
        if self.selected and not any(p.entry.id == self.selected for p in self.placed):
            self.selected = None
        self.setMinimumWidth(GUTTER + len(self.columns) * self.min_column_width())
        self.setFixedHeight(HEADER + SLOTS * ROW + 1)
        self.update()

    def resizeEvent(self, event: QResizeEvent) -> None:
        if self.width() != self._laid_width:
            self._layout_rects()
        super().resizeEvent(event)

    def min_column_width(self) -> int:
        return 46 if self.page and self.page.days > 1 else 110

    def sizeHint(self) -> QSize:
        return QSize(GUTTER + len(self.columns) * self.min_column_width(), HEADER + SLOTS * ROW)

    # Geometry -------------------------------------------------------------------------
    def column_width(self) -> float:
        return max(1.0, (self.width() - GUTTER) / max(1, len(self.columns)))

    def slot_rect(self, column: int, slot: int, slots: int = 1) -> QRect:
        w = self.column_width()
        x = GUTTER + int(column * w)
        return QRect(x, HEADER + slot * ROW, int((column + 1) * w) - int(column * w), slots * ROW)

    def placed_rect(self, p: Placed, column_width: float | None = None) -> QRect:
        w = column_width or self.column_width()
        col_left = GUTTER + int(p.column * w)
        lane_w = (GUTTER + int((p.column + 1) * w) - col_left) / p.lanes
        top = HEADER + (p.start_min - DAY_START) * ROW // SLOT
        bottom = HEADER + (p.end_min - DAY_START) * ROW // SLOT
        left = col_left + int(p.lane * lane_w)
        return QRect(left + 2, top + 1, int(lane_w) - 4, max(bottom - top - 2, 6))

    def _layout_rects(self) -> None:
        w = self.column_width()
        self._laid_width = self.width()
        rects: list[tuple[int, int, int, int]] = []
        batches: dict[tuple[str, bool], list[QRect]] = {}
        worded: list[tuple[int, QRect]] = []
        line_h = self._line_height()
        for i, p in enumerate(self.placed):
            # placed_rect's arithmetic, inline: thousands of boxes in a busy week.
            col_left = GUTTER + int(p.column * w)
            lane_w = (GUTTER + int((p.column + 1) * w) - col_left) / p.lanes
            top = HEADER + (p.start_min - DAY_START) * ROW // SLOT
            bottom = HEADER + (p.end_min - DAY_START) * ROW // SLOT
            width, height = int(lane_w) - 4, max(bottom - top - 2, 6)
            x, y = col_left + int(p.lane * lane_w) + 2, top + 1
            rects.append((x, y, x + width, y + height))
            e = p.entry
            key = (e.status if e.status in _FILL else "booked", e.clash)
            batches.setdefault(key, []).append(QRect(x, y, width - 1, height - 1))
            if width >= WORDS_WIDTH and height >= line_h:
                worded.append((i, QRect(x, y, width, height)))
        self._rects, self._batches, self._worded = rects, batches, worded
        self._off = []
        hours = self.page.hours if self.page else {}
        spans: dict[dt.date, tuple[int, int] | None] = {}
        for i, c in enumerate(self.columns):
            if c.day not in spans:
                spans[c.day] = working_span(c.day, hours, self.provider)
            span = spans[c.day]
            if span is None:
                continue
            first = min(max((span[0] - DAY_START) // SLOT, 0), SLOTS)
            last = min(max(-(-(span[1] - DAY_START) // SLOT), first), SLOTS)
            if span == (0, 0):
                first = last = SLOTS
            if first > 0:
                self._off.append(self.slot_rect(i, 0, first))
            if last < SLOTS:
                self._off.append(self.slot_rect(i, last, SLOTS - last))

    def off_hours(self, column: int, slot: int) -> bool:
        """Whether a slot is shaded as outside working hours."""
        r = self.slot_rect(column, slot)
        return any(o.contains(r.center()) for o in self._off)

    def entry_rect(self, entry_id: str) -> QRect:
        return next(self.placed_rect(p) for p in self.placed if p.entry.id == entry_id)

    def cell_at(self, pos: QPoint) -> tuple[int, int] | None:
        if pos.x() < GUTTER or pos.y() < max(0, -self.y()) + HEADER or not self.columns:
            return None
        col = min(int((pos.x() - GUTTER) / self.column_width()), len(self.columns) - 1)
        slot = min((pos.y() - HEADER) // ROW, SLOTS - 1)
        return col, max(slot, 0)

    def placed_at(self, pos: QPoint) -> Placed | None:
        # The last painted is on top.
        x, y = pos.x(), pos.y()
        for p, (left, top, right, bottom) in zip(
            reversed(self.placed), reversed(self._rects), strict=True
        ):
            if left <= x < right and top <= y < bottom:
                return p
        return None

    def pick(self, column: int, slot: int, slots: int) -> SlotPick:
        c = self.columns[column]
        minutes = DAY_START + slot * SLOT
        start = dt.datetime.combine(c.day, dt.time(minutes // 60, minutes % 60)).astimezone()
        return SlotPick(c.day, c.chair_id, start, slots * SLOT)

    def entries_at_cursor(self) -> list[BookEntry]:
        col, slot = self.cursor_cell
        minute = DAY_START + slot * SLOT
        return [
            p.entry
            for p in self.placed
            if p.column == col and p.start_min <= minute < p.end_min
        ]

    def selected_entry(self) -> BookEntry | None:
        return next((p.entry for p in self.placed if p.entry.id == self.selected), None)

    # Mouse ----------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.setFocus()
        pos = event.position().toPoint()
        cell = self.cell_at(pos)
        if event.button() != Qt.MouseButton.LeftButton or cell is None:
            return
        self.cursor_cell = cell
        hit = self.placed_at(pos)
        if hit is None:
            self.selected = None
            self._drag = _Drag("book", pos, cell[0], cell[1], to_column=cell[0], to_slot=cell[1])
        else:
            self.selected = hit.entry.id
            rect = self.placed_rect(hit)
            kind = "resize" if pos.y() >= rect.bottom() - EDGE else "move"
            start_slot = (hit.start_min - DAY_START) // SLOT
            self._drag = _Drag(
                kind, pos, cell[0], cell[1], hit.entry, cell[1] - start_slot, cell[0], cell[1]
            )
        self.update()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        pos = event.position().toPoint()
        if self._drag is None:
            hit = self.placed_at(pos)
            near_edge = hit is not None and pos.y() >= self.placed_rect(hit).bottom() - EDGE
            shape = Qt.CursorShape.SizeVerCursor if near_edge else Qt.CursorShape.ArrowCursor
            self.setCursor(shape)
            return
        cell = self.cell_at(pos)
        if cell is None:
            return
        d = self._drag
        d.to_column, d.to_slot = cell
        d.moved = d.moved or (pos - d.origin).manhattanLength() > 3
        self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        d, self._drag = self._drag, None
        if d is None or event.button() != Qt.MouseButton.LeftButton:
            return
        pick = self._drag_pick(d)
        self.update()
        if d.kind == "book":
            self.cursor_cell = (d.column, min(d.slot, d.to_slot))
            if d.moved and pick is not None:
                self.bookRequested.emit(pick)
        elif d.moved and pick is not None and d.entry is not None:
            self.moveRequested.emit(d.entry, pick)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        pos = event.position().toPoint()
        hit = self.placed_at(pos)
        cell = self.cell_at(pos)
        if hit is not None:
            self.openRequested.emit(hit.entry)
        elif cell is not None:
            self.bookRequested.emit(self.pick(cell[0], cell[1], self.default_minutes // SLOT))

    def _drag_pick(self, d: _Drag) -> SlotPick | None:
        if d.kind == "book":
            first, last = sorted((d.slot, d.to_slot))
            return self.pick(d.column, first, last - first + 1)
        assert d.entry is not None
        slots = max(1, -(-d.entry.duration_minutes // SLOT))
        start = (_start_min(d.entry) - DAY_START) // SLOT
        if d.kind == "resize":
            # The new end is the lower edge of the slot the mouse is in.
            end = DAY_START + (max(d.to_slot, start) + 1) * SLOT
            minutes = max(SLOT, end - _start_min(d.entry))
            day = self.columns[d.column].day
            return SlotPick(day, d.entry.chair_id, _entry_start(d.entry), minutes)
        first = min(max(d.to_slot - d.grab_slots, 0), SLOTS - 1)
        pick = self.pick(d.to_column, first, slots)
        return SlotPick(pick.day, pick.chair_id, pick.starts_at, d.entry.duration_minutes)

    # Keyboard -------------------------------------------------------------------------
    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        col, slot = self.cursor_cell
        moves: dict[int, tuple[int, int]] = {
            Qt.Key.Key_Up: (0, -1),
            Qt.Key.Key_Down: (0, 1),
            Qt.Key.Key_Left: (-1, 0),
            Qt.Key.Key_Right: (1, 0),
        }
        if key in moves and self.columns:
            dc, ds = moves[key]
            col = min(max(col + dc, 0), len(self.columns) - 1)
            slot = min(max(slot + ds, 0), SLOTS - 1)
            self.cursor_cell = (col, slot)
            here = self.entries_at_cursor()
            self.selected = here[0].id if here else None
            self.update()
            return
        entry = self.selected_entry()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            if entry is not None:
                self.openRequested.emit(entry)
            elif self.columns:
                self.bookRequested.emit(self.pick(col, slot, self.default_minutes // SLOT))
        elif key == Qt.Key.Key_Insert and self.columns:
            self.bookRequested.emit(self.pick(col, slot, self.default_minutes // SLOT))
        elif key == Qt.Key.Key_Delete and entry is not None:
            self.cancelRequested.emit(entry)
        else:
            super().keyPressEvent(event)

    # Painting -------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: C901, PLR0912
        p = QPainter(self)
        clip = event.rect()
        p.fillRect(clip, QColor("#ffffff"))
        for r in self._off:
            if r.intersects(clip):
                p.fillRect(r, _OFF)
        pal = self.palette()
        line = QColor("#e3e3e3")
        hour_line = QColor("#bdbdbd")
        w = self.width()
        for s in range(SLOTS + 1):
            y = HEADER + s * ROW
            if clip.top() - ROW <= y <= clip.bottom() + ROW:
                on_hour = (DAY_START + s * SLOT) % 60 == 0
                p.setPen(hour_line if on_hour else line)
                p.drawLine(GUTTER, y, w, y)
                if on_hour and s < SLOTS:
                    p.setPen(pal.text().color())
                    minutes = DAY_START + s * SLOT
                    p.drawText(QRect(0, y, GUTTER - 6, ROW), Qt.AlignmentFlag.AlignRight,
                               f"{minutes // 60:02d}:00")
        for i, c in enumerate(self.columns):
            r = self.slot_rect(i, 0)
            p.setPen(hour_line if (i + 1 < len(self.columns)
                                   and self.columns[i + 1].day != c.day) else line)
            p.drawLine(r.right(), HEADER, r.right(), HEADER + SLOTS * ROW)
        if self.columns:
            p.fillRect(self.slot_rect(*self.cursor_cell), QColor(60, 120, 220, 40))
        p.setFont(self._small_font())
        line_h = p.fontMetrics().height()
        for (status, clash), frames in self._batches.items():
            p.setBrush(_FILL[status])
            p.setPen(_CLASH_PEN if clash else _PEN)
            p.drawRects(frames)
        chosen = self.selected_entry()
        if chosen is not None and not chosen.clash:
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.setPen(_SELECTED_PEN)
            p.drawRect(self.entry_rect(chosen.id).adjusted(0, 0, -1, -1))
        for i, rect in self._worded:
            if rect.intersects(clip):
                self._paint_words(p, self.placed[i], rect, line_h)
        if self._drag is not None and self._drag.moved:
            pick = self._drag_pick(self._drag)
            if pick is not None:
                self._paint_ghost(p, pick)
        self._paint_header(p)
        p.end()

    def _paint_header(self, p: QPainter) -> None:
        """The chairs' names stay at the top of what is seen while the day scrolls."""
        top = max(0, -self.y())  # the grid scrolls inside the book's viewport
        p.fillRect(QRect(0, top, self.width(), HEADER), self.palette().window())
        p.setFont(self.font())
        p.setPen(self.palette().text().color())
        for i, c in enumerate(self.columns):
            r = self.slot_rect(i, 0)
            p.drawText(QRect(r.left(), top, r.width(), HEADER), Qt.AlignmentFlag.AlignCenter,
                       c.title)

    def _small_font(self) -> QFont:
        small = QFont(self.font())
        small.setPointSizeF(max(7.0, small.pointSizeF() - 1))
        return small

    def _line_height(self) -> int:
        return QFontMetrics(self._small_font()).height()

    def _paint_words(self, p: QPainter, item: Placed, rect: QRect, line_h: int) -> None:
        """A box big enough for words (smaller ones: the colour and the frame say enough)."""
        e = item.entry
        # Line by line, clipped to the box: wrapping text is what a busy week can't afford.
        p.setPen(_TEXT)
        inner = rect.adjusted(3, 1, -2, -1)
        p.setClipRect(inner)
        y = inner.top()
        text = self._texts.get(e.id)
        if text is None:
            text = self._texts[e.id] = entry_text(e)
        for line in text.split("\n"):
            if y + line_h > inner.bottom() + line_h // 2:
                break
            p.drawText(inner.left(), y + p.fontMetrics().ascent(), line)
            y += line_h
        p.setClipping(False)
        if e.status == "cancelled":
            p.drawLine(inner.left(), rect.center().y(), inner.right(), rect.center().y())

    def _paint_ghost(self, p: QPainter, pick: SlotPick) -> None:
        col = next(
            (i for i, c in enumerate(self.columns)
             if c.day == pick.day and c.chair_id == pick.chair_id),
            None,
        )
        if col is None:
            return
        start = pick.starts_at.hour * 60 + pick.starts_at.minute
        slot = (start - DAY_START) // SLOT
        rect = self.slot_rect(col, slot, max(1, -(-pick.minutes // SLOT)))
        p.fillRect(rect, QColor(60, 120, 220, 70))
        p.setPen(QPen(QColor("#1f5fbf"), 1, Qt.PenStyle.DashLine))
        p.drawRect(rect.adjusted(1, 1, -2, -2))


def entry_text(e: BookEntry) -> str:
    """What an appointment says in the grid (and to a screen reader, via tests)."""
    local = e.starts_at.astimezone()
    parts = [f"{local.hour:02d}:{local.minute:02d} {e.patient_name}"]
    if e.clash:
        parts[0] = "⚠ " + parts[0]
    if e.reason:
        parts.append(e.reason)
    if LABELS.get(e.status):
        parts.append(LABELS[e.status])
    return "\n".join(parts)


def _start_min(e: BookEntry) -> int:
    local = e.starts_at.astimezone()
    return max(DAY_START, min(local.hour * 60 + local.minute, DAY_END - SLOT))


def _entry_start(e: BookEntry) -> dt.datetime:
    return e.starts_at.astimezone()
