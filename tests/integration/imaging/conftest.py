from __future__ import annotations

import time
from collections.abc import Callable
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


def wait_until(cond: Callable[[], bool], timeout: float = 20.0, step: float = 0.05) -> None:
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise AssertionError("condition not met in time")
        time.sleep(step)


__all__ = ["FakeClock", "ImageStore", "wait_until"]
