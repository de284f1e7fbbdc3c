"""The money papers a practice prints: a payment's receipt and the day-end report of
takings by method and by who took them. Composed here as HTML from plain values (every
value escaped: names come from other PCs); app/ui prints them to PDF."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from html import escape

from app.core.ledger import METHOD_LABELS, Payment, takings_by
from app.core.money import format_money

_STYLE = (
    "<style>body{font-family:sans-serif;font-size:11pt} h1{font-size:16pt}"
    " td{padding:2px 8px} td.n{text-align:right} .muted{color:#555}</style>"
)
WITH_VISIT = "visit"  # the method of an amount paid with a visit, before the ledger


def method_label(method: str | None) -> str:
    if method == WITH_VISIT:
        return "Paid with the visit"
    return METHOD_LABELS.get(method or "", "Other")


@dataclass(frozen=True, slots=True)
class Receipt:
    practice: str
    patient: str
    paid_on: str
    amount: Decimal
    method: str | None
    taken_by: str
    item: str  # what it pays: the agreement's title or the account
    number: str  # the payment's id, to find it again


def receipt_html(r: Receipt) -> str:
    return (
        f"<html><head>{_STYLE}</head><body>"
        f"<h1>{escape(r.practice)}</h1><h2>Receipt</h2>"
        "<table>"
        f"<tr><td>Date</td><td>{escape(r.paid_on)}</td></tr>"
        f"<tr><td>Received from</td><td>{escape(r.patient)}</td></tr>"
        f"<tr><td>For</td><td>{escape(r.item)}</td></tr>"
        f"<tr><td>Amount</td><td><b>{format_money(r.amount)}</b></td></tr>"
        f"<tr><td>Method</td><td>{escape(method_label(r.method))}</td></tr>"
        f"<tr><td>Taken by</td><td>{escape(r.taken_by or '—')}</td></tr>"
        "</table>"
        f"<p class='muted'>Receipt number {escape(r.number)}</p>"
        "</body></html>"
    )


def _table(title: str, sums: dict[str, Decimal]) -> str:
    rows = "".join(
        f"<tr><td>{escape(k)}</td><td class='n'>{format_money(v)}</td></tr>"
        for k, v in sums.items()
    )
    return f"<h3>{escape(title)}</h3><table>{rows}</table>"


def day_report_html(practice: str, day: str, payments: list[Payment]) -> str:
    """Takings of the day by method and by who took them; both add up to the day's
    total, which is the diary's."""
    total = sum((p.amount for p in payments if p.valid and p.on == day), Decimal("0.00"))
    todays = [p for p in payments if p.on == day]
    return (
        f"<html><head>{_STYLE}</head><body>"
        f"<h1>{escape(practice)}</h1><h2>Day-end report, {escape(day)}</h2>"
        f"<p>Total taken: <b>{format_money(total)}</b> "
        f"({sum(1 for p in todays if p.valid)} payments)</p>"
        + _table("By method", takings_by(todays, lambda p: method_label(p.method)))
        + _table("By who took them", takings_by(todays, lambda p: p.taken_by or "Not recorded"))
        + "</body></html>"
    )
