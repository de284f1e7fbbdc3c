"""The real cloud process with a seeded clinic, and headless Chromium (Debian's)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.integration.cloud.conftest import Server, start_server, stop_server
from tests.unit.cloud.portal.support import Clinic, seed
from tests.unit.cloud.support import BACKENDS, database_url, register_pc, register_practice

if TYPE_CHECKING:  # at run time playwright is imported or the test skipped (importorskip)
    from playwright.sync_api import Browser

ROOT = Path(__file__).resolve().parents[3]
ARTIFACTS = ROOT / "test-artifacts" / "portal"
CHROMIUM = os.environ.get("CHAIRSIDE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}


@pytest.fixture(params=BACKENDS)
def portal_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The database URL of the cloud process (tests reach in only to age sessions)."""
    with database_url(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def portal_server(portal_db: str, tmp_path: Path) -> Iterator[Server]:
    srv = start_server(tmp_path / "data", {"DATABASE_URL": portal_db})
    try:
        yield srv
    finally:
        stop_server(srv)


@pytest.fixture
def live_clinic(portal_server: Server) -> Iterator[Clinic]:
    with httpx.Client(base_url=portal_server.url, timeout=60) as http:
        pc = register_pc(http, *register_practice(http, portal_server.mail_dir))
        yield seed(pc)


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    sync_api = pytest.importorskip("playwright.sync_api")
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Path:
    name = request.node.name.replace("[", "-").replace("]", "")
    folder = ARTIFACTS / name
    folder.mkdir(parents=True, exist_ok=True)
    return folder
