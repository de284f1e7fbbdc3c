"""The agent reads what a tus server can do, once, and speaks accordingly: to a server
without the checksum extension it sends plain PATCHes and counts a file as arrived
only once the sync API says the installation holds it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from sync_agent import tus_client
from sync_agent.tus_client import TusClient
from tests.integration.agent.test_uploads import (
    KIB,
    assert_stored,
    drain,
    fixed_chunks,
    new_patient,
    practice_pc,
    random_file,
)
from tests.integration.cloud.conftest import Server, start_server, stop_server


@pytest.fixture
def plain_cloud(tmp_path: Path) -> Iterator[Server]:
    srv = start_server(tmp_path / "plain", {
        "DATABASE_URL": "", "CHAIRSIDE_CLOUD_TUS_CHECKSUM": "false"})
    try:
        yield srv
    finally:
        stop_server(srv)


def test_without_the_checksum_extension_plain_patches_and_the_sync_api_vouches(
    plain_cloud: Server, tmp_path: Path, _template_db: tuple[Path, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pc = practice_pc(plain_cloud, tmp_path / "pc", _template_db)
    asked: list[tuple[str, str, bool]] = []
    request = TusClient._request

    def seen(self: TusClient, method: str, url: str, headers: dict[str, str],
             *args: object, **kwargs: object) -> requests.Response:
        asked.append((method, url, "Upload-Checksum" in headers))
        return request(self, method, url, headers, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(TusClient, "_request", seen)
    monkeypatch.setattr(tus_client, "_capabilities", {})
    fixed_chunks(pc.agent, 256 * KIB)
    patient = new_patient(pc)
    files = [random_file(tmp_path, f"scan{i}.bin", 600 * KIB + i) for i in range(2)]
    for f in files:
        pc.agent.uploads.enqueue(f, patient, "xray")
    drain(pc.agent)
    for f in files:
        assert_stored(plain_cloud, f)
    assert [m for m, _u, _c in asked].count("OPTIONS") == 1  # once for the server
    patches = [c for m, _u, c in asked if m == "PATCH"]
    assert len(patches) == 6 and not any(patches)  # no checksum it would ignore
    vouched = [u for m, u, _c in asked if m == "HEAD" and "/api/v1/images/" in u]
    assert len(vouched) == 2  # each file confirmed through the sync API
    assert all(r.status == "done" for r in pc.agent.uploads.list_uploads())
    pc.store.db.close()
