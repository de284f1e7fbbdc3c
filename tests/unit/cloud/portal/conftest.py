"""A seeded clinic on the in-process cloud (both backends, from tests/unit/cloud)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from cloud import security
from cloud.portal import auth, clock
from tests.unit.cloud.portal.support import Clinic, seed
from tests.unit.cloud.support import PC


@pytest.fixture(autouse=True)
def _cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2id at its lowest cost: these tests are about who gets in, not the cost."""
    monkeypatch.setattr(security, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024,
                                                            parallelism=1))
    auth._dummy.cache_clear()


@pytest.fixture
def clinic(pc: PC) -> Clinic:
    return seed(pc)


@pytest.fixture
def browser(client: TestClient) -> Callable[[str], TestClient]:
    """Another browser on the same server, from its own address."""

    def make(address: str) -> TestClient:
        return TestClient(client.app, client=(address, 50000))

    return make


class Clock:
    """Moves the portal's clock without sleeping."""

    def __init__(self) -> None:
        self.offset = dt.timedelta()

    def advance(self, **kw: float) -> None:
        self.offset += dt.timedelta(**kw)

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.offset


@pytest.fixture
def fake_clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock()
    monkeypatch.setattr(clock, "now", c.now)
    return c
