from __future__ import annotations

from app.core.phone import format_phone


def test_stored_numbers_are_spaced_to_be_read() -> None:
    assert format_phone("+9613123456") == "+961 3 123 456"
    assert format_phone("+447700900111") == "+44 7700 900 111"
    assert format_phone("+12025550143") == "+1 202 555 0143"
    assert format_phone("07700900111") == "07700 900 111"
    assert format_phone(None) == ""
