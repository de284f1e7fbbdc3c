"""Helpers of the cloud tests: databases on both backends, practices and mutations."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.core.ids import new_id, new_node_id

PG_ENV = "CHAIRSIDE_TEST_PG_URL"
BACKENDS = ["sqlite", "postgresql"]


@contextmanager
def database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database on `backend`; PostgreSQL ones are dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'cloud.sqlite3'}"
        return
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} is not set (scripts/postgres.sh prints one)")
    name = f"cs_{uuid.uuid4().hex[:16]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            # Only our own sessions: an autovacuum worker may be in the new database, and
            # it belongs to the superuser (DROP DATABASE stops it by itself).
            conn.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n "
                "AND usename = current_user AND pid <> pg_backend_pid()"
            ), {"n": name})
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def read_password(mail_dir: Path, installation_id: str) -> str:
    """The newest upload password mailed for an installation (from the .eml folder)."""
    for path in sorted(mail_dir.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns,
                       reverse=True):
        body = path.read_text()
        if f"Installation ID: {installation_id}" in body:
            m = re.search(r"Upload password: (\S+)", body)
            assert m
            return m.group(1)
    raise AssertionError(f"no mail for {installation_id}")


def stamp(wall_ms: int, node: str, counter: int = 0) -> str:
    return f"{wall_ms:013d}-{counter:04x}-{node}"


@dataclass
class PC:
    """One registered device, talking through an httpx-like client."""

    http: Any
    installation_id: str
    node: str
    token: str
    device_id: str
    wall: int = 1_700_000_000_000
    sent: list[dict[str, Any]] = field(default_factory=list)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def mutation(self, entity: str, entity_id: str, fields: dict[str, Any],
                 base: dict[str, str | None] | None = None,
                 hlc: str | None = None) -> dict[str, Any]:
        self.wall += 1
        when = hlc or stamp(self.wall, self.node)
        return {"id": new_id(), "entity": entity, "entity_id": entity_id, "node": self.node,
                "fields": fields, "hlc": dict.fromkeys(fields, when), "base": base or {}}

    def push(self, *mutations: dict[str, Any], expect: int = 200) -> Any:
        r = self.http.post("/api/v1/push", json={"mutations": list(mutations)},
                           headers=self.headers)
        assert r.status_code == expect, r.text
        return r.json()

    def pull(self, after: int = 0, **params: Any) -> Any:
        r = self.http.get("/api/v1/changes", params={"after": after, **params},
                          headers=self.headers)
        assert r.status_code == 200, r.text
        return r.json()

    def pull_all(self, **params: Any) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        cursor = 0
        while True:
            page = self.pull(cursor, **params)
            out.extend(page["changes"])
            cursor = page["cursor"]
            if not page["more"]:
                return out


def register_practice(http: Any, mail_dir: Path, email: str = "dr@example.com") -> tuple[str, str]:
    r = http.post("/api/v1/installations", json={"email": email})
    assert r.status_code == 201, r.text
    iid = r.json()["installation_id"]
    return iid, read_password(mail_dir, iid)


def register_pc(http: Any, installation_id: str, password: str, name: str = "PC") -> PC:
    node = new_node_id()
    r = http.post(f"/api/v1/installations/{installation_id}/devices",
                  json={"upload_password": password, "node": node, "name": name})
    assert r.status_code == 201, r.text
    body = r.json()
    return PC(http, installation_id, node, body["token"], body["device_id"])


def patient(pc: PC, entity_id: str | None = None, **fields: Any) -> dict[str, Any]:
    values = {"first_name": "Ann", "gender": "female", **fields}
    return pc.mutation("patient", entity_id or new_id(), values)
