from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.money import AgreementTotals, MoneyError, format_money, parse_money
from app.core.patient_rules import ValidationError, clean_patient
from app.core.phone import PhoneError, normalise_phone
from app.core.text import digits, fold

TODAY = dt.date(2026, 11, 25)


def test_fold_strips_accents_and_case_but_keeps_other_scripts() -> None:
    assert fold("  José  GARCÍA ") == "jose garcia"
    assert fold("Straße") == "strasse"
    assert fold("محمد") == "محمد"
    assert fold("مُحَمَّد") == "محمد"
    assert fold("王小明") == "王小明"


# Names as typed, in any script, with the marks, spaces and compatibility forms that
# folding changes or drops.
_NAME_PARTS = st.text(
    st.sampled_from(["a", "É", "e", "\u0301", " ", "\t", "\u3000", "\u0308", "\u00a8", "ß", "Σ",
                     "ς", "\u064b", "\u0640", "\ufb01", "\u1100", "\u1161", "\u0b47", "\u0b3e",
                     "\u01c5", "\u0130", "王", "\u0661", "-"])
    | st.characters(), max_size=8)


@settings(max_examples=500, deadline=None)
@given(_NAME_PARTS, _NAME_PARTS)
def test_a_full_name_folds_as_its_two_names_joined(first: str, last: str) -> None:
    """The search index folds each name once and joins them for the full name."""
    assert fold(f"{first} {last}") == f"{fold(first)} {fold(last)}".strip()


@settings(max_examples=500, deadline=None)
@given(st.text(st.characters(max_codepoint=127), max_size=30))
def test_ascii_text_folds_as_any_other(text: str) -> None:
    """ASCII takes a shorter way through fold (emails, card numbers)."""
    from app.core.text import _fold

    assert fold(text) == (_fold(text) if text else "")


def test_digits_of_any_script() -> None:
    assert digits("+966 ٥٥٥ 12-34") == "9665551234"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+34 600-123-456", "+34600123456"),
        ("0044 20 7946 0958", "+442079460958"),
        ("(555) 123 4567", "5551234567"),
        ("", None),
    ],
)
def test_phone_normalisation(raw: str, expected: str | None) -> None:
    assert normalise_phone(raw) == expected


@pytest.mark.parametrize("raw", ["12", "call me", "+1234567890123456789"])
def test_bad_phones_are_refused(raw: str) -> None:
    with pytest.raises(PhoneError):
        normalise_phone(raw)


def test_patient_validation_collects_every_problem_in_plain_words() -> None:
    with pytest.raises(ValidationError) as info:
        clean_patient(
            {
                "first_name": " ",
                "last_name": "",
                "birth_date": "2030-01-01",
                "email": "not-an-email",
                "mobile": "abc",
            },
            TODAY,
        )
    messages = {e.field: e.message for e in info.value.errors}
    assert messages["first_name"] == "First name is required."
    assert "future" in messages["birth_date"]
    assert "Email" in messages["email"]
    assert "Mobile" in messages["mobile"]


def test_absurd_and_invalid_birth_dates() -> None:
    with pytest.raises(ValidationError, match="130 years"):
        clean_patient({"birth_date": "1850-01-01"}, TODAY)
    with pytest.raises(ValidationError, match="not a valid date"):
        clean_patient({"birth_date": "2001-02-30"}, TODAY)


def test_valid_patient_is_normalised() -> None:
    out = clean_patient(
        {
            "first_name": " Zoë ",
            "last_name": "O'Brien",
            "email": "Zoe@Example.COM",
            "mobile": "+353 87 123 4567",
            "gender": "",
            "birth_date": "1990-05-01",
        },
        TODAY,
    )
    assert out == {
        "first_name": "Zoë",
        "last_name": "O'Brien",
        "email": "zoe@example.com",
        "mobile": "+353871234567",
        "gender": "unknown",
        "birth_date": "1990-05-01",
    }


def test_money() -> None:
    assert parse_money("12.5") == Decimal("12.50")
    assert parse_money("12,05") == Decimal("12.05")
    assert parse_money("-3") == Decimal("-3.00")
    assert format_money(Decimal("1234.56")) == "1,234.56"
    assert format_money(Decimal("0.005")) == "0.01"  # the one rounding rule
    with pytest.raises(MoneyError):
        parse_money("12.345")
    d = Decimal
    t = AgreementTotals(total=d("100.00"), discount=d("10.00"), tax=d("5.00"), paid=d("50.00"))
    assert t.remaining == d("45.00")
    assert t.is_expired("2026-01-01", TODAY)
    assert not AgreementTotals(d(1), d(0), d(0), d(1)).is_expired("2026-01-01", TODAY)
