"""The wizard's Imaging Options step: per procedure (a record holding offline images)
apply charges with its fee, bill to insurance and the provider — or one choice applied
to all procedures."""

from __future__ import annotations

from decimal import Decimal

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.money import MoneyError, format_money, parse_money
from app.store.images.offline_procedures_repo import (
    Procedure,
    ProcedureOptions,
    Provider,
)
from app.ui.shell.context import AppContext
from app.ui.shell.ops import ReadOp


def parse_fee(text: str) -> Decimal:
    """The fee typed; empty is no fee. Raises MoneyError with the reason."""
    fee = parse_money(text) if text.strip() else Decimal("0.00")
    if fee < 0:
        raise MoneyError("A fee cannot be negative.")
    return fee


class OptionsStep(QWidget):
    changed = Signal()  # whether the step is ready may have changed
    failed = Signal(object)
    message = Signal(str, bool)  # text, good news

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx, self.repo = ctx, ctx.store.offline_procedures
        self.procedures: list[Procedure] = []
        self.options: list[ProcedureOptions] = []
        self.providers: list[Provider] = []
        self._current = -1  # the procedure shown
        self.procedure_list = QListWidget(objectName="procedures")
        self.procedure_list.currentRowChanged.connect(self._procedure_changed)
        self.apply_charges = QCheckBox("Apply charges", objectName="applyCharges")
        self.apply_charges.setToolTip("Cleared: a zero amount is posted for the procedure")
        self.fee = QLineEdit(objectName="fee", placeholderText="0.00")
        self.fee.textChanged.connect(self._fee_edited)
        self.fee_error = QLabel("", objectName="feeError")
        self.fee_error.setStyleSheet("color: #b00020;")
        self.fee_error.hide()
        self.bill_insurance = QCheckBox("Bill to insurance", objectName="billInsurance")
        self.provider = QComboBox(objectName="provider")
        self.apply_all = QPushButton("Apply Selected Options to All Procedures",
                                     objectName="applyToAll")
        self.apply_all.clicked.connect(self._apply_to_all)
        self.apply_charges.toggled.connect(self.fee.setEnabled)
        for box in (self.apply_charges, self.bill_insurance):
            box.toggled.connect(lambda *_: self.store())
        self.provider.currentIndexChanged.connect(lambda *_: self.store())
        form = QFormLayout()
        charges = QHBoxLayout()
        charges.addWidget(self.apply_charges)
        charges.addWidget(QLabel("Fee"))
        charges.addWidget(self.fee)
        form.addRow(charges)
        form.addRow(self.fee_error)
        form.addRow(self.bill_insurance)
        form.addRow("Provider", self.provider)
        form.addRow(self.apply_all)
        v = QVBoxLayout(self)
        v.addWidget(QLabel("Offline imaging procedures"))
        v.addWidget(self.procedure_list, 1)
        v.addLayout(form)

    @property
    def ready(self) -> bool:
        return bool(self.procedures) and self.fee_error.isHidden()

    def load(self, patient_id: str) -> None:
        viewer = self.ctx.viewer
        self.procedure_list.clear()
        self.procedures, self.options = [], []

        def read() -> tuple[list[Procedure], list[Provider]]:
            return self.repo.procedures(viewer, patient_id), self.repo.providers()

        ReadOp(read).success(self._show).failure(self.failed.emit).run(self.ctx.ops)

    def _show(self, found: tuple[list[Procedure], list[Provider]]) -> None:
        self.procedures, self.providers = found
        me = self.ctx.user.id
        default = ProcedureOptions(
            apply_charges=True, fee=Decimal("0.00"), bill_insurance=False,
            provider_id=me if any(p.id == me for p in self.providers) else None)
        self.options = [default for _ in self.procedures]
        self.provider.blockSignals(True)
        self.provider.clear()
        self.provider.addItem("No provider", None)
        for p in self.providers:
            self.provider.addItem(p.name, p.id)
        self.provider.blockSignals(False)
        self._current = -1
        for proc in self.procedures:
            self.procedure_list.addItem(proc.label)
        if self.procedures:
            self.procedure_list.setCurrentRow(0)
        else:
            self.message.emit("This patient has no offline images left to send.", False)
        self.changed.emit()

    def _procedure_changed(self, row: int) -> None:
        self.store()
        self._current = row
        if not 0 <= row < len(self.options):
            return
        o = self.options[row]
        widgets = (self.apply_charges, self.bill_insurance, self.provider, self.fee)
        for w in widgets:
            w.blockSignals(True)
        self.apply_charges.setChecked(o.apply_charges)
        self.fee.setEnabled(o.apply_charges)
        self.fee.setText(format_money(o.fee).replace(",", "") if o.fee else "")
        self.bill_insurance.setChecked(o.bill_insurance)
        self.provider.setCurrentIndex(max(0, self.provider.findData(o.provider_id)))
        for w in widgets:
            w.blockSignals(False)
        self._fee_edited()

    def _fee_edited(self) -> None:
        try:
            parse_fee(self.fee.text())
        except MoneyError as exc:
            self.fee_error.setText(str(exc))
            self.fee_error.show()
        else:
            self.fee_error.hide()
            self.store()
        self.changed.emit()

    def _selected(self) -> ProcedureOptions:
        """The options on screen; a fee being typed that is not valid yet keeps the
        procedure's last valid one."""
        kept = (self.options[self._current].fee if 0 <= self._current < len(self.options)
                else Decimal("0.00"))
        try:
            fee = parse_fee(self.fee.text())
        except MoneyError:
            fee = kept
        return ProcedureOptions(self.apply_charges.isChecked(), fee,
                                self.bill_insurance.isChecked(), self.provider.currentData())

    def store(self) -> None:
        """Keep what is on screen as the shown procedure's options."""
        if 0 <= self._current < len(self.options):
            self.options[self._current] = self._selected()

    def _apply_to_all(self) -> None:
        chosen = self._selected()
        self.options = [chosen for _ in self.options]
        self.message.emit(f"The selected options now apply to all {len(self.options)} "
                          "procedures.", True)
