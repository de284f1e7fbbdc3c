"""Whose is a DICOM file: the header against the patient of the acquisition."""

from __future__ import annotations

import pytest

from app.imaging.acquisition import dicom_mismatch
from app.imaging.dicom import DicomInfo


def info(name: str, birth: str | None = "1980-01-02") -> DicomInfo:
    return DicomInfo("DX", name, birth, None, None, None, None, None, 1, 1, 1)


@pytest.mark.parametrize("name", ["DOE^JOHN", "Doe^John^Q", "DOE^JOHN QUINCY", "doe^",
                                  "JOHN DOE", ""])
def test_same_patient_written_differently(name: str) -> None:
    assert dicom_mismatch(info(name), "John Quincy", "Doe", "1980-01-02") is None


def test_accents_and_case_do_not_matter() -> None:
    assert dicom_mismatch(info("GARCIA^JOSE"), "José", "García", "1980-01-02") is None


@pytest.mark.parametrize(
    ("name", "birth", "expected"),
    [("ROE^JANE", "1980-01-02", "names ROE, JANE"),
     ("DOE^JOHN", "1990-05-05", "born 1990-05-05"),
     ("DOE^JANE", None, "names DOE, JANE")],
)
def test_someone_else_is_named_with_the_reason(name: str, birth: str | None,
                                               expected: str) -> None:
    reason = dicom_mismatch(info(name, birth), "John", "Doe", "1980-01-02")
    assert reason is not None and expected in reason and "John Doe (born 1980-01-02)" in reason
