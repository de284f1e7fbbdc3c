"""Whose is a DICOM file: the header against the patient it is filed for.

Each row: what the file's header says, who the patient is, and the expected outcome
— "same" (filed), or a part of the quarantine reason a person will read.
"""

from __future__ import annotations

import pytest

from app.imaging.acquisition import dicom_mismatch
from app.imaging.dicom import DicomInfo
from app.imaging.matching import fold

SAME = None


def info(name: str, birth: str | None = "1980-01-02", patient_id: str = "",
         birth_raw: str | None = None) -> DicomInfo:
    raw = birth_raw if birth_raw is not None else (birth or "").replace("-", "")
    return DicomInfo("DX", name, birth, None, None, None, None, None, 1, 1, 1,
                     patient_id=patient_id, birth_raw=raw)


@pytest.mark.parametrize(
    ("name", "first", "last", "expected"),
    [
        # Latin, written the ways devices write it.
        ("DOE^JOHN", "John Quincy", "Doe", SAME),
        ("Doe^John^Q", "John Quincy", "Doe", SAME),
        ("DOE^JOHN QUINCY", "John Quincy", "Doe", SAME),
        ("doe^", "John Quincy", "Doe", SAME),  # the family name, and the birth date agrees
        ("JOHN DOE", "John Quincy", "Doe", SAME),  # one component, given first
        ("DOE^JOHN^^DR^JR", "John", "Doe", SAME),  # prefix and suffix ignored
        ("ROE^JANE", "John", "Doe", "names ROE, JANE"),
        ("DOE^JANE", "John", "Doe", "names DOE, JANE"),
        ("DOE JANE", "John", "Doe", "names DOE JANE"),
        # Accents and case.
        ("GARCIA^JOSE", "José", "García", SAME),
        ("Müller^Jürgen", "JURGEN", "MULLER", SAME),
        ("SØRENSEN^SØREN", "Soren", "Sorensen", SAME),
        ("Strauß^Anna", "Anna", "Strauss", SAME),
        # Scripts with no ASCII letters: compared as themselves, never as "".
        ("Ελληνική^Κατερίνα", "Κατερινα", "ΕΛΛΗΝΙΚΗ", SAME),
        ("Иванов^Пётр", "Петр", "Иванов", SAME),  # ё written as е
        ("Ελληνική^Κατερίνα", "Пётр", "Иванов", "names Ελληνική, Κατερίνα"),
        ("Иванов^Пётр", "Κατερίνα", "Ελληνική", "names Иванов, Пётр"),
        ("قباني^لنزار", "لنزار", "قباني", SAME),
        ("قباني^لنزار", "Пётр", "Иванов", "names قباني, لنزار"),
        ("שרון^דבורה", "דבורה", "שרון", SAME),
        ("שרון^דבורה", "لنزار", "قباني", "names שרון, דבורה"),
        ("שרון^דבורה", "Κατερίνα", "Ελληνική", "names שרון, דבורה"),
        ("Yamada^Tarou", "ガクト", "ヤマダ", "names Yamada, Tarou"),
        # PN groups: alphabetic = ideographic = phonetic; any one naming the patient.
        ("Yamada^Tarou=山田^太郎=やまだ^たろう", "太郎", "山田", SAME),
        ("Yamada^Tarou=山田^太郎=やまだ^たろう", "Tarou", "Yamada", SAME),
        ("Yamada^Tarou=山田^太郎=やまだ^たろう", "花子", "山田", "names Yamada, Tarou"),
        ("=山田^太郎", "太郎", "山田", SAME),
        ("Hong^Gildong=洪^吉洞=홍^길동", "길동", "홍", SAME),
        # Kana voicing marks are letters, not accents: ガ is not カ.
        ("ガクト^", "", "カクト", "names ガクト"),
        # Swapped components are not taken silently.
        ("JOHN^DOE", "John", "Doe", "other way round"),
        # Nothing to check: cannot confirm.
        ("", "John", "Doe", "Cannot confirm whose file this is: the DICOM header names nobody"),
        ("^", "John", "Doe", "names nobody"),
        ("***", "John", "Doe", "cannot be checked"),
    ],
)
def test_names(name: str, first: str, last: str, expected: str | None) -> None:
    reason = dicom_mismatch(info(name), first, last, "1980-01-02")
    if expected is SAME:
        assert reason is None
    else:
        assert reason is not None and expected in reason


@pytest.mark.parametrize(
    ("name", "patient_id", "card", "expected"),
    [
        ("DOE^JOHN", "C-1042", "C-1042", SAME),  # agree
        ("DOE^JOHN", "c-1042 ", "C-1042", SAME),  # case and spaces do not matter
        ("DOE^JOHN", "000317", "317", SAME),  # nor leading zeros of a number
        ("DOE^JOHN", "C-2077", "C-1042", "gives patient ID C-2077"),  # disagree
        ("ROE^JANE", "C-1042", "C-1042", "names ROE, JANE"),  # the ID never excuses a name
        ("DOE^JOHN", "C-2077", None, SAME),  # the practice gave no number: not compared
        ("", "C-1042", "C-1042", SAME),  # an unnamed file confirmed by its ID
        ("", "C-2077", "C-1042", "names nobody"),
    ],
)
def test_patient_id(name: str, patient_id: str, card: str | None, expected: str | None
                    ) -> None:
    reason = dicom_mismatch(info(name, patient_id=patient_id), "John", "Doe", "1980-01-02",
                            (card,), 7)
    if expected is SAME:
        assert reason is None
    else:
        assert reason is not None and expected in reason


@pytest.mark.parametrize(
    ("birth", "patient_id", "expected"),
    [(None, "", "Cannot confirm whose file this is: the DICOM header names only the "
      "family DOE"),
     ("1980-01-02", "", SAME), (None, "C-1042", SAME),
     ("1990-05-05", "", "says born 1990-05-05")],
)
def test_a_family_name_alone_needs_something_else_to_agree(
        birth: str | None, patient_id: str, expected: str | None) -> None:
    """A parent and a child share "DOE^": the birth date or the ID must tell them apart."""
    reason = dicom_mismatch(info("DOE^", birth, patient_id=patient_id), "John", "Doe",
                            "1980-01-02", ("C-1042",))
    if expected is SAME:
        assert reason is None
    else:
        assert reason is not None and expected in reason


def test_the_patient_number_is_no_disagreement_but_confirms_nothing() -> None:
    """Devices number their own patients 1, 2, 3…: a PatientID equal to the practice's
    patient number spares a false alarm, but never vouches for an unnamed file."""
    assert dicom_mismatch(info("DOE^JOHN", patient_id="0042"), "John", "Doe", None,
                          ("C-1042",), 42) is None
    reason = dicom_mismatch(info("", patient_id="0042"), "John", "Doe", None, ("C-1042",),
                            42)
    assert reason is not None and "names nobody" in reason


@pytest.mark.parametrize(
    ("birth", "raw", "patient_birth", "expected"),
    [
        ("1980-01-02", "19800102", "1980-01-02", SAME),
        ("1980-01-02", "1980.01.02", "1980-01-02", SAME),  # ACR-NEMA style, still a date
        (None, "", "1980-01-02", SAME),  # the file gives none
        ("1980-01-02", "19800102", None, SAME),  # the practice has none
        ("1990-05-05", "19900505", "1980-01-02", "says born 1990-05-05"),
        (None, "19801345", "1980-01-02", "Cannot confirm whose file this is"),
        (None, "unknown", "1980-01-02", "birth date that cannot be read (unknown)"),
        (None, "19801345", None, "cannot be read"),  # never ignored
    ],
)
def test_birth_dates(birth: str | None, raw: str, patient_birth: str | None,
                     expected: str | None) -> None:
    reason = dicom_mismatch(info("DOE^JOHN", birth, birth_raw=raw), "John", "Doe",
                            patient_birth)
    if expected is SAME:
        assert reason is None
    else:
        assert reason is not None and expected in reason


def test_the_reason_names_both_sides() -> None:
    reason = dicom_mismatch(info("ROE^JANE", "1990-05-05"), "John", "Doe", "1980-01-02")
    assert reason == ("The DICOM header names ROE, JANE; says born 1990-05-05, but the "
                      "patient is John Doe (born 1980-01-02).")


@pytest.mark.parametrize("name", ["Ελληνική", "Иванов", "قباني", "שרון", "山田", "홍길동"])
def test_no_script_folds_to_nothing(name: str) -> None:
    assert fold(name)
