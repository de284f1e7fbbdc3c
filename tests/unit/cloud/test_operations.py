"""What an operator watches: liveness, readiness, request ids, Prometheus metrics."""

from __future__ import annotations

import os
import re
from pathlib import Path

from fastapi.testclient import TestClient

from cloud.config import Settings
from cloud.jobs.registry import SCHEDULES
from cloud.main import create_app
from tests.unit.cloud.support import PC, patient
from tests.unit.cloud.test_tus import create, patch


def _metric(text: str, name: str, **labels: str) -> float:
    """A sample's value in the exposition text (0 when absent)."""
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in text.splitlines():
        m = re.match(rf"^{re.escape(name)}(?:{{(.*)}})? (\S+)$", line)
        if m and all(p in (m.group(1) or "").split(",") for p in want.split(",") if p):
            return float(m.group(2))
    return 0.0


def test_liveness_and_readiness(client: TestClient, settings: Settings) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    r = client.get("/readyz")
    assert r.status_code == 200
    assert r.json() == {"status": "ready", "checks": {"database": "ok", "blob_store": "ok"}}
    blobs = settings.resolved_blob_dir
    blobs.rename(blobs.with_name("moved-away"))  # the image volume is gone
    r = client.get("/readyz")
    assert r.status_code == 503 and int(r.headers["Retry-After"]) > 0
    assert r.json()["checks"] == {"database": "ok",
                                  "blob_store": "the image folder is missing or not writable"}
    assert client.get("/healthz").status_code == 200  # alive all the same


def test_every_answer_carries_a_request_id(client: TestClient) -> None:
    assert client.get("/healthz", headers={"X-Request-ID": "lb-7f3a.1"}).headers[
        "X-Request-ID"] == "lb-7f3a.1"
    made = client.get("/healthz").headers["X-Request-ID"]
    forged = client.get("/healthz", headers={"X-Request-ID": "x\" level=ERROR"})
    assert re.fullmatch(r"[0-9a-f]{32}", made)
    assert re.fullmatch(r"[0-9a-f]{32}", forged.headers["X-Request-ID"])
    assert client.get("/api/v1/nowhere").headers["X-Request-ID"]  # a 404 too


def test_metrics_count_pushes_uploads_requests_and_jobs(client: TestClient, pc: PC) -> None:
    before = client.get("/metrics").text
    pc.push(*(patient(pc) for _ in range(3)))
    data = os.urandom(5000)
    url = create(pc, data).headers["Location"]
    assert patch(pc, url, data, 0).status_code == 204
    after = client.get("/metrics").text
    assert _metric(after, "chairside_push_mutations_total") \
        - _metric(before, "chairside_push_mutations_total") == 3
    assert _metric(after, "chairside_upload_bytes_total") \
        - _metric(before, "chairside_upload_bytes_total") == 5000
    pushes = {"method": "POST", "route": "/api/v1/push", "status": "200"}
    assert _metric(after, "chairside_http_requests_total", **pushes) \
        - _metric(before, "chairside_http_requests_total", **pushes) == 1
    chunks = {"method": "PATCH", "route": "/files/{upload_id}", "status": "204"}
    assert _metric(after, "chairside_http_requests_total", **chunks) \
        - _metric(before, "chairside_http_requests_total", **chunks) == 1
    assert _metric(after, "chairside_jobs", status="queued") == len(SCHEDULES)  # the chores
    assert _metric(after, "chairside_jobs", status="due") == 0


def test_metrics_need_the_admin_token_when_there_is_one(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "cloud", admin_token="scrape-token-for-tests")
    with TestClient(create_app(settings)) as c:
        assert c.get("/metrics").status_code == 401
        r = c.get("/metrics", headers={"Authorization": "Bearer scrape-token-for-tests"})
        assert r.status_code == 200 and "chairside_jobs" in r.text
