"""Normalising names, phones and emails for search, sorting and patient matching.

Works for every script: Latin letters lose their accents ("José" finds "jose"),
case is folded (including "ß"), Arabic and CJK text is kept as it is.
"""

from __future__ import annotations

import functools
import re
import unicodedata

_SPACES = re.compile(r"\s+")
_NOT_DIGIT = re.compile(r"\D")
# Arabic diacritics (harakat) and tatweel are not part of how a name is searched.
_ARABIC_MARKS = re.compile("[\u064b-\u065f\u0670\u0640]")


def fold(text: str | None) -> str:
    """Search form of free text: accents stripped, case folded, spaces collapsed."""
    if not text:
        return ""
    if text.isascii():
        # No accents to strip and nothing to normalise: emails, card and ID numbers.
        return _SPACES.sub(" ", text.lower()).strip()
    return _fold(text)


# Names repeat (a practice has many Marías): a first download folds hundreds of
# thousands of them, most already folded a moment before.
@functools.lru_cache(maxsize=8192)
def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    stripped = _ARABIC_MARKS.sub("", stripped)
    return _SPACES.sub(" ", unicodedata.normalize("NFC", stripped).casefold()).strip()


def digits(text: str | None) -> str:
    """Only the digits of a phone or card number (any script's digits become 0-9)."""
    if not text:
        return ""
    if text.isascii():  # the only ASCII digits are 0-9
        return _NOT_DIGIT.sub("", text)
    out = []
    for ch in text:
        if ch.isdigit():
            out.append(str(unicodedata.digit(ch)))
    return "".join(out)


def sort_key(first_name: str | None, last_name: str | None) -> str:
    """The patient list's display order: last name, then first name, folded."""
    return f"{fold(last_name)}\x1f{fold(first_name)}"


def display_name(first_name: str | None, last_name: str | None) -> str:
    return " ".join(p for p in ((first_name or "").strip(), (last_name or "").strip()) if p)


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """ "1 image", "3 images": a count in words people write, not "3 image(s)"."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"
