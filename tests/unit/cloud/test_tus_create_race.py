"""Two PCs at once: an upload created while another PC's push commits is not refused
(on SQLite a read that turned into a write failed at once with "database is locked",
and the agent then held back all of that PC's images for a while)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from cloud.config import Settings
from cloud.crud import uploads
from tests.unit.cloud.support import PC
from tests.unit.cloud.test_tus import create, head


def test_an_upload_created_while_another_pc_writes_is_accepted(
        client: TestClient, pc: PC, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    other_pc = create_engine(settings.database_url, connect_args=(
        {"timeout": 0.2} if settings.database_url.startswith("sqlite") else {}))
    real = uploads.resolve_patient

    def another_push_lands(session: Any, **kw: Any) -> str:
        found = real(session, **kw)  # the creation has read; now another PC commits
        try:
            with other_pc.begin() as conn:
                conn.execute(text("UPDATE installations SET last_seq = last_seq + 1"))
        except OperationalError:
            pass  # it waits for the creation's write lock instead, as it should
        return found

    monkeypatch.setattr(uploads, "resolve_patient", another_push_lands)
    try:
        r = create(pc, b"x" * 1000)
    finally:
        other_pc.dispose()
    assert head(pc, r.headers["Location"]).headers["Upload-Offset"] == "0"
