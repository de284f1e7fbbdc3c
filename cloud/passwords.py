"""What the cloud accepts as a new password.

Every password of the system (upload, login, admin, general, an account's, a patient's
own) is refused when it is one of the most common passwords: `common_passwords.txt`
beside this module holds the ten thousand most frequent ones of a public leak corpus
(the list zxcvbn ships), lower-cased, plus words of this trade. A trailing run of
digits or symbols does not make one of them new ("Password1!" is "password").

An upload password opens the whole practice to whoever holds it, so a chosen one must
also be as hard to guess as the generated ones: zxcvbn's estimate of at least 10^15
guesses (about 50 bits, a passphrase of four random words); the generated 16-character
ones are about 92 bits.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

from zxcvbn import zxcvbn

from cloud.crud import Refused

LIST = Path(__file__).with_name("common_passwords.txt")
UPLOAD_MIN_GUESSES_LOG10 = 15.0
_ESTIMATE_MAX = 72  # zxcvbn refuses longer input; a prefix bounds the estimate from below
_TAIL = re.compile(r"[\W\d_]+$")


@functools.cache
def common() -> frozenset[str]:
    return frozenset(w for w in LIST.read_text(encoding="utf-8").split() if w)


def is_common(password: str) -> bool:
    p = password.strip().lower()
    if p in common():
        return True
    stem = _TAIL.sub("", p)
    return len(stem) >= 4 and stem in common()


def refuse_common(password: str) -> None:
    if is_common(password):
        raise Refused(422, "this password is one of the most common ones; choose another")


def guesses_log10(password: str) -> float:
    return float(zxcvbn(password[:_ESTIMATE_MAX])["guesses_log10"])


def refuse_weak_upload(password: str) -> None:
    """A chosen upload password: not common, and about 50 bits or more."""
    refuse_common(password)
    if guesses_log10(password) < UPLOAD_MIN_GUESSES_LOG10:
        raise Refused(422, "this upload password is too easy to guess: use four or more "
                           "unrelated words, or the generated password")
