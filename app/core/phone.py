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


# Country calling codes one or two digits long (ITU E.164 zones); all others have three.
_SHORT_CODES = frozenset({"1", "7"} | {str(n) for n in (
    20, 27, 30, 31, 32, 33, 34, 36, 39, 40, 41, 43, 44, 45, 46, 47, 48, 49, 51, 52, 53, 54,
    55, 56, 57, 58, 60, 61, 62, 63, 64, 65, 66, 81, 82, 84, 86, 90, 91, 92, 93, 94, 95, 98,
)})


def _groups(d: str) -> str:
    """Digits in groups a person reads aloud: the tail in threes, the rest in front
    (7700900111 -> 7700 900 111; 3123456 -> 3 123 456)."""
    if len(d) <= 4:
        return d
    tail = 6 if len(d) > 6 else 3
    head, rest = d[:-tail], d[-tail:]
    return " ".join([head, *(rest[i:i + 3] for i in range(0, len(rest), 3))])


def split_international(canonical: str) -> tuple[str, str]:
    """("country code", "national number") of a "+" number."""
    d = canonical.lstrip("+")
    for n in (1, 2):
        if d[:n] in _SHORT_CODES:
            return d[:n], d[n:]
    return d[:3], d[3:]


def format_phone(canonical: str | None) -> str:
    """A stored phone spaced to be read: "+961 3 123 456", "07700 900 111"."""
    if not canonical:
        return ""
    if not canonical.startswith("+"):
        return _groups(canonical) if canonical.isdigit() else canonical
    code, national = split_international(canonical)
    if code == "1" and len(national) == 10:  # North America's fixed 3-3-4 plan
        return f"+1 {national[:3]} {national[3:6]} {national[6:]}"
    return f"+{code} {_groups(national)}".strip()
