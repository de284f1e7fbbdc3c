"""The cloud as an operator runs it: JSON log lines carrying the request's id."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.cloud.conftest import Server, start_server, stop_server


@pytest.fixture
def json_logging(tmp_path: Path) -> Iterator[Server]:
    srv = start_server(tmp_path / "data", {"CHAIRSIDE_CLOUD_LOG_FORMAT": "json"})
    yield srv
    stop_server(srv)


def test_log_lines_are_json_with_the_request_id(json_logging: Server, tmp_path: Path) -> None:
    r = httpx.post(json_logging.url + "/api/v1/installations", json={"email": "dr@example.org"},
                   headers={"X-Request-ID": "edge-4711"}, timeout=30)
    assert r.status_code == 201 and r.headers["X-Request-ID"] == "edge-4711"
    assert httpx.get(json_logging.url + "/readyz", timeout=30).json()["status"] == "ready"
    stop_server(json_logging)  # its log is complete
    log = next(tmp_path.glob("cloud-*.log")).read_text().splitlines()
    entries = [json.loads(line) for line in log]  # every line is one JSON object
    mine = [e for e in entries if e["request_id"] == "edge-4711"]
    assert any(e["logger"] == "cloud.installations" and "registered" in e["message"]
               for e in mine), mine
    assert any(e["logger"] == "uvicorn.access" and "/api/v1/installations" in e["message"]
               for e in mine), mine
    assert all({"time", "level", "logger", "request_id", "message"} <= e.keys()
               for e in entries)
