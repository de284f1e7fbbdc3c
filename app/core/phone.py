"""Phone number normalisation: what the clinic typed, in one canonical form.

Keeps a leading "+" and the digits; "00" as an international prefix becomes "+".
Letters and punctuation are refused rather than guessed.
"""

from __future__ import annotations

import re

from app.core.text import digits

_ALLOWED = re.compile(r"^\+?[\d\s\-().\u0660-\u0669\u06f0-\u06f9/]+$")
MIN_DIGITS = 5
MAX_DIGITS = 15  # E.164


class PhoneError(ValueError):
    pass


def normalise_phone(raw: str | None) -> str | None:
    """Canonical phone text, or None for empty; raises PhoneError with a reason."""
    if raw is None or not raw.strip():
        return None
    text = raw.strip()
    if not _ALLOWED.match(text):
        raise PhoneError("may contain only digits, spaces, +, -, ( and )")
    plus = text.startswith("+")
    d = digits(text)
    if not plus and d.startswith("00"):
        plus, d = True, d[2:]
    if len(d) < MIN_DIGITS:
        raise PhoneError(f"needs at least {MIN_DIGITS} digits")
    if len(d) > MAX_DIGITS:
        raise PhoneError(f"has more than {MAX_DIGITS} digits")
    return ("+" if plus else "") + d
