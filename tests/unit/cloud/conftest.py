"""An in-process cloud per test, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cloud.config import Settings
from cloud.main import create_app
from tests.unit.cloud.support import BACKENDS, PC, database_url, register_pc, register_practice


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database_url(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return Settings(data_dir=tmp_path / "cloud", database_url=db_url,
                    password_mail_interval_s=0, max_upload_bytes=64 * 1024 * 1024)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.fixture
def practice(client: TestClient, settings: Settings) -> tuple[str, str]:
    return register_practice(client, settings.mail_dir)


@pytest.fixture
def pc(client: TestClient, practice: tuple[str, str]) -> PC:
    return register_pc(client, *practice, name="front desk")


@pytest.fixture
def pc2(client: TestClient, practice: tuple[str, str]) -> PC:
    return register_pc(client, *practice, name="surgery")


@pytest.fixture
def stranger(client: TestClient, settings: Settings) -> PC:
    """A PC of another practice."""
    iid, password = register_practice(client, settings.mail_dir, "other@example.org")
    return register_pc(client, iid, password)
