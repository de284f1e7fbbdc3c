from __future__ import annotations

import datetime as dt

import pytest

from app.core.money import AgreementTotals, MoneyError, format_amount, parse_amount
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
    assert parse_amount("12.5") == 1250
    assert parse_amount("12,05") == 1205
    assert format_amount(123456) == "1,234.56"
    with pytest.raises(MoneyError):
        parse_amount("12.345")
    t = AgreementTotals(total=100_00, discount=10_00, tax=5_00, paid=50_00)
    assert t.remaining == 45_00
    assert t.is_expired("2026-01-01", TODAY)
    assert not AgreementTotals(100, 0, 0, 100).is_expired("2026-01-01", TODAY)
