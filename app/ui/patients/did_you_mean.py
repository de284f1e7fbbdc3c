""""Did you mean Papadopoulos?" above a patient list that found nobody: each surname
offered is a button that puts it in the search box."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from app.ui.shell.context import AppContext
from app.ui.shell.ops import ReadOp


class DidYouMean(QWidget):
    chosen = Signal(str)  # the surname clicked

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("didYouMean")
        self.ctx = ctx
        self._asked = ""
        self._row = QHBoxLayout(self)
        self._row.setContentsMargins(0, 0, 0, 0)
        self._row.setSpacing(4)
        self.buttons: list[QPushButton] = []
        self.hide()

    def look_up(self, query: str) -> None:
        """Offer the surnames one slip from `query`, a search that found nobody (an
        empty query: offer none). An answer for an older query is dropped."""
        self._asked = query
        self.offer([])
        if not query.strip():
            return
        ctx = self.ctx

        def found(surnames: list[str]) -> None:
            if self._asked == query:
                self.offer(surnames)

        ReadOp(lambda: ctx.store.patients.suggest_surnames(ctx.viewer, query)).success(
            found).run(ctx.ops)

    def offer(self, surnames: list[str]) -> None:
        while self._row.count():
            item = self._row.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        self.buttons = []
        self.setVisible(bool(surnames))
        if not surnames:
            return
        self._row.addWidget(QLabel("Did you mean"))
        for i, surname in enumerate(surnames):
            if i:
                self._row.addWidget(QLabel("or"))
            button = QPushButton(surname, flat=True)
            # Flat buttons keep a push button's minimum width: a short surname would
            # sit in a wide gap before the question mark, unlike a sentence.
            button.setStyleSheet("QPushButton { text-decoration: underline; border: none;"
                                 " padding: 0px 1px; min-width: 0px; }")
            button.setToolTip(f"Search for {surname}")
            button.clicked.connect(lambda _=False, s=surname: self.chosen.emit(s))
            self._row.addWidget(button)
            self.buttons.append(button)
        self._row.addWidget(QLabel("?"))
        self._row.addStretch(1)
