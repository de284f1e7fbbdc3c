"""Commit-ordered sequence numbers under concurrency; migrations on both backends."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from app.core.ids import new_id
from cloud import migrate
from cloud.crud import DeviceCtx
from cloud.crud import push as writes
from cloud.db import make_engine, make_sessionmaker, write_transaction
from cloud.models import Base, Change
from tests.support.waiting import wait_until
from tests.unit.cloud.support import PC, database_url, patient


def test_a_late_commit_is_never_skipped_by_a_pull(client: TestClient, pc: PC,
                                                  db_url: str) -> None:
    """Push A holds its transaction open; push B must wait behind it, and a pull made
    meanwhile must not see B's change before A's."""
    if not db_url.startswith("postgresql"):
        pytest.skip("observing a waiting lock needs PostgreSQL's pg_locks")
    engine = make_engine(db_url)
    maker = make_sessionmaker(engine)
    device = DeviceCtx(pc.device_id, pc.installation_id, pc.node)
    release, holding = threading.Event(), threading.Event()

    def slow_push() -> None:  # like a push whose client is slow: lock taken, not committed
        with maker() as session, write_transaction(session, pc.installation_id) as inst:
            inst.last_seq += 1
            session.add(Change(installation_id=inst.id, seq=inst.last_seq, entity="patient",
                               entity_id=new_id(), fields={}, origin_node=pc.node))
            session.flush()
            holding.set()
            release.wait(60)

    results: list[int] = []

    def fast_push() -> None:
        with maker() as session:
            ms = writes.parse_batch([patient(pc)])
            results.append(writes.push(session, device=device, mutations=ms)[1])

    a = threading.Thread(target=slow_push)
    a.start()
    assert holding.wait(30)
    b = threading.Thread(target=fast_push)
    b.start()

    def b_waits_for_lock() -> bool:
        with engine.connect() as conn:
            return bool(conn.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'")).scalar())

    wait_until(b_waits_for_lock, message="the second push to wait for the first")
    page = pc.pull()
    assert page["changes"] == [] and page["cursor"] == 0  # nothing skippable is visible
    release.set()
    a.join(30)
    b.join(30)
    assert results == [2]
    assert [c["seq"] for c in pc.pull()["changes"]] == [1, 2]
    engine.dispose()


def test_concurrent_pushes_get_gapless_numbers(client: TestClient, pc: PC, pc2: PC) -> None:
    def run(who: PC) -> None:
        for _ in range(5):
            who.push(*[patient(who) for _ in range(4)])

    threads = [threading.Thread(target=run, args=(w,)) for w in (pc, pc2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    seqs = [c["seq"] for c in pc.pull_all(limit=7)]
    assert seqs == list(range(1, 41))


def test_migrations_match_the_models(db_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    engine = make_engine(db_url)
    migrate.upgrade(engine)
    migrate.upgrade(engine)  # idempotent
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == []
        assert migrate.current_revision(conn) == migrate.head_revision()
    engine.dispose()


def test_a_newer_database_is_refused(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate.upgrade(engine)
    with Session(engine) as s:
        s.execute(text("UPDATE alembic_version SET version_num = '9999_from_the_future'"))
        s.commit()
    with pytest.raises(migrate.SchemaTooNewError, match="newer than this server"):
        migrate.upgrade(engine)
    engine.dispose()


def test_sqlite_pragmas(tmp_path: Path) -> None:
    with database_url("sqlite", tmp_path) as url:
        engine = make_engine(url)
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        engine.dispose()
