"""Whose is a DICOM file: its header against the patient it is about to be filed for.

Filing an X-ray under the wrong patient is the worst thing this program can do, so
the rules lean to "cannot confirm" (quarantine, a person decides) rather than to a
guess:

- Names are compared in Unicode: case-folded, with accents dropped only where they
  are accents (Latin, Greek, Cyrillic) or optional vowel points (Hebrew, Arabic).
  Letters of any script are kept, so two names in scripts with no ASCII letters
  never both fold to nothing and "match".
- A DICOM name is FAMILY^GIVEN^MIDDLE^PREFIX^SUFFIX, possibly in up to three groups
  (alphabetic=ideographic=phonetic); the file is this patient's when one group names
  them. Middle names, prefixes and suffixes vary between devices and are ignored.
  A family and given name written the other way round is not accepted silently, nor
  a family name alone (a parent and child share it) unless the birth date or the
  PatientID agrees.
- PatientID is compared when both sides have one (the patient's card or ID number;
  the patient number is not a disagreement, but as devices number their own patients
  1, 2, 3… it never confirms anything).
- A birth date in the file that cannot be read, or a name that folds to nothing, is
  "cannot confirm" — unless the PatientID agrees, which confirms an unnamed file.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

# Scripts whose combining marks are accents or optional vowel points: dropped. Marks
# elsewhere (kana voicing, Indic vowel signs) change the letter and are kept.
_LOOSE_MARK_BASES = ((0x0000, 0x024F), (0x1E00, 0x1EFF), (0x0370, 0x03FF), (0x1F00, 0x1FFF),
                     (0x0400, 0x052F), (0x0590, 0x05FF), (0x0600, 0x06FF))
# Letters that are distinct code points yet written plainly by many devices.
_PLAIN = str.maketrans({"ø": "o", "Ø": "o", "ł": "l", "Ł": "l", "đ": "d", "Đ": "d",
                        "æ": "ae", "Æ": "ae", "œ": "oe", "Œ": "oe", "þ": "th", "Þ": "th",
                        "ı": "i"})
_SPLIT = re.compile(r"[\W_]+")


def _loose_base(ch: str) -> bool:
    code = ord(ch)
    return any(lo <= code <= hi for lo, hi in _LOOSE_MARK_BASES)


def fold(text: str | None) -> frozenset[str]:
    """The words of a name, compared case- and accent-insensitively."""
    out: list[str] = []
    base = ""
    for ch in unicodedata.normalize("NFKD", (text or "").translate(_PLAIN)):
        if unicodedata.category(ch) == "Mn":
            if base and _loose_base(base):
                continue
        else:
            base = ch
        out.append(ch)
    plain = unicodedata.normalize("NFC", "".join(out)).casefold()
    return frozenset(t for t in _SPLIT.split(plain) if t)


def _normal_id(value: str | None) -> str:
    text = "".join((value or "").split()).casefold()
    return text.lstrip("0") or text if text.isdigit() else text


@dataclass(frozen=True, slots=True)
class Patient:
    """The patient side of the comparison."""

    first_name: str | None
    last_name: str | None
    birth_date: str | None = None  # ISO
    identifiers: tuple[str, ...] = ()  # card / ID numbers the practice gave
    number: str | None = None  # the practice's patient number: never a disagreement

    @property
    def display(self) -> str:
        who = " ".join(p for p in (self.first_name, self.last_name) if p) or "this patient"
        return who + (f" (born {self.birth_date})" if self.birth_date else "")


def _group_matches(group: str, first: frozenset[str], last: frozenset[str]) -> str:
    """"yes", "family" (the family name alone), "no", "swapped" or "empty" for one
    PN group."""
    parts = group.split("^")
    family = fold(parts[0])
    given = fold(parts[1]) if len(parts) > 1 else frozenset()
    middle = fold(parts[2]) if len(parts) > 2 else frozenset()
    if not family and not given:
        return "empty"
    if len(parts) == 1:
        # One component: "GIVEN FAMILY" or "FAMILY GIVEN"; every word must be the
        # patient's, with the whole family name among them.
        if not last:
            return "yes" if family == first else "no"
        ok = bool(family & first) and last <= family and family <= first | last
        return "yes" if ok else "no"
    if not last:  # the practice knows only one name
        return "yes" if (family | given) == first else "no"
    if family == last and not given:
        return "family"  # "DOE^": a parent and child share it; something else must agree
    if family == last and (given <= first or first <= given | middle):
        return "yes"
    if given == last and family and family <= first:
        return "swapped"
    return "no"


def _name_verdict(pn: str, who: Patient) -> str:
    first, last = fold(who.first_name), fold(who.last_name)
    if not first and not last:
        return "empty"
    verdicts = [_group_matches(g, first, last) for g in pn.split("=")]
    for v in ("yes", "family", "swapped", "no"):
        if v in verdicts:
            return v
    return "empty"


def mismatch(patient_name: str, patient_id: str, birth_raw: str, birth_iso: str | None,
             who: Patient) -> str | None:
    """None when the header can be this patient's; else why not, in words for the
    quarantine list."""
    problems: list[str] = []
    file_id = _normal_id(patient_id)
    ids = {_normal_id(i) for i in who.identifiers if i and i.strip()}
    # The card or ID number confirms; the patient number (1, 2, 3…, which a device's
    # own numbering repeats) only spares a false disagreement, never confirms.
    id_agrees = bool(file_id) and file_id in ids
    is_number = bool(file_id) and file_id == _normal_id(who.number)
    if file_id and ids and not (id_agrees or is_number):
        problems.append(f"gives patient ID {patient_id.strip()}")
    verdict = _name_verdict(patient_name, who)
    shown = ", ".join(p.strip() for p in re.split(r"[\^=]", patient_name) if p.strip())
    birth_agrees = bool(birth_iso and who.birth_date and birth_iso == who.birth_date)
    unsure = False
    if verdict == "no":
        problems.append(f"names {shown}")
    elif verdict == "swapped":
        problems.append(f"names {shown}, with family and given names the other way round")
    elif verdict == "family" and not (id_agrees or birth_agrees):
        unsure = True
        problems.append(f"names only the family {shown}, and no birth date or ID agrees")
    elif verdict == "empty" and not id_agrees:
        unsure = True
        problems.append("names nobody" if not shown
                        else f"has a name that cannot be checked ({patient_name.strip()})")
    if birth_raw.strip() and birth_iso is None:
        unsure = True
        problems.append(f"gives a birth date that cannot be read ({birth_raw.strip()})")
    elif birth_iso and who.birth_date and birth_iso != who.birth_date:
        problems.append(f"says born {birth_iso}")
    if not problems:
        return None
    text = f"the DICOM header {'; '.join(problems)}, but the patient is {who.display}."
    return f"Cannot confirm whose file this is: {text}" if unsure else "T" + text[1:]


def patient_of(first_name: str | None, last_name: str | None, birth_date: str | None,
               identifiers: Iterable[str | None] = (), number: object = None) -> Patient:
    return Patient(first_name, last_name, birth_date,
                   tuple(i for i in identifiers if i), str(number) if number else None)
