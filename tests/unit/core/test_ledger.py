"""Ledger properties: whatever a practice does with charges, payments, voids and
corrections, the balance is charges − valid payments and a day's total is that day's valid
payments."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from app.core import ledger
from app.core.money import from_wire, round_money, to_wire

DAYS = [f"2026-11-{d:02d}" for d in range(24, 31)]
amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("100000.00"), places=2)
step = st.one_of(
    st.tuples(st.just("charge"), amounts, st.sampled_from(DAYS)),
    st.tuples(st.just("pay"), amounts, st.sampled_from(DAYS)),
    st.tuples(st.just("void"), st.integers(min_value=0), st.just("")),
    st.tuples(st.just("correct"), st.integers(min_value=0), amounts),
)


def _replay(steps: list[tuple]) -> tuple[list[ledger.Charge], list[ledger.Payment]]:
    """Applies the steps the way the store does: a void keeps the entry with its reason; a
    correction voids the old entry and adds a new one naming it."""
    charges: list[ledger.Charge] = []
    payments: list[ledger.Payment] = []
    for kind, a, b in steps:
        if kind == "charge":
            charges.append(ledger.Charge(f"c{len(charges)}", b, a))
        elif kind == "pay":
            payments.append(ledger.Payment(f"p{len(payments)}", b, a))
        elif payments:
            i = a % len(payments)
            old = payments[i]
            if not old.valid:
                continue
            payments[i] = replace(old, void_reason="corrected" if kind == "correct" else "x")
            if kind == "correct":
                payments.append(ledger.Payment(f"p{len(payments)}", old.on, b, corrects=old.id))
    return charges, payments


@settings(max_examples=300, deadline=None)
@given(st.lists(step, max_size=40))
def test_balance_is_charges_minus_valid_payments(steps: list[tuple]) -> None:
    charges, payments = _replay(steps)
    acc = ledger.account(charges, payments)
    valid = sum((p.amount for p in payments if p.void_reason is None), Decimal("0.00"))
    assert acc.balance == sum((c.amount for c in charges), Decimal("0.00")) - valid
    assert acc.credit == (-acc.balance if acc.balance < 0 else 0)
    assert acc.owed - acc.credit == acc.balance
    # Every entry is kept: voids and corrections never remove one.
    assert len(payments) == sum(1 for k, *_ in steps if k == "pay") + sum(
        1 for p in payments if p.corrects
    )


@settings(max_examples=300, deadline=None)
@given(st.lists(step, max_size=40))
def test_day_totals_are_the_days_valid_payments(steps: list[tuple]) -> None:
    _, payments = _replay(steps)
    totals = [ledger.day_total(payments, d) for d in DAYS]
    for day, total in zip(DAYS, totals, strict=True):
        assert total == sum((p.amount for p in payments if p.on == day and p.valid), Decimal(0))
    assert sum(totals, Decimal(0)) == ledger.account([], payments).paid
    by_method = ledger.takings_by(payments, lambda p: p.method)
    assert sum(by_method.values(), Decimal(0)) == ledger.account([], payments).paid


@given(st.decimals(min_value=Decimal("-1e12"), max_value=Decimal("1e12"), places=2))
def test_amounts_travel_as_decimal_text_exactly(amount: Decimal) -> None:
    text = to_wire(amount)
    assert isinstance(text, str) and from_wire(text) == amount
    assert to_wire(from_wire(text)) == text


@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_minor_units_written_before_decimal_text_still_read(cents: int) -> None:
    assert from_wire(cents) * 100 == cents
    assert to_wire(from_wire(cents)) == f"{Decimal(cents) / 100:.2f}"


def test_rounding_is_half_up_to_the_cent() -> None:
    assert round_money(Decimal("0.005")) == Decimal("0.01")
    assert round_money(Decimal("-0.005")) == Decimal("-0.01")
    assert round_money(Decimal("10.004")) == Decimal("10.00")
    assert to_wire(Decimal("1") / 3 * 3) == "1.00"
    assert to_wire(Decimal("-0.001")) == "0.00"


def test_excess_becomes_credit() -> None:
    assert ledger.excess(Decimal("50.00"), Decimal("80.00")) == Decimal("30.00")
    assert ledger.excess(Decimal("-10.00"), Decimal("5.00")) == Decimal("5.00")
    assert ledger.excess(Decimal("50.00"), Decimal("20.00")) == 0
