from __future__ import annotations

from pathlib import Path

import pytest

from app.imaging.cas import ImageStore
from tests.integration.agent.conftest import clinic, cloud  # noqa: F401  (shared fixtures)
from tests.unit.imaging.conftest import files, patient  # noqa: F401


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t

    def advance(self, s: float) -> None:
        self.t += s


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def drop(tmp_path: Path) -> Path:
    folder = tmp_path / "drop"
    folder.mkdir()
    return folder


__all__ = ["FakeClock", "ImageStore"]
