"""Upgrading a PC to the shared conflict list: what it found by itself goes (the cloud's
list comes instead), what a person decided here is sent to the cloud."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from app.platform.secrets import SecretStore
from app.store import keys
from app.store.db import Database
from app.store.migrate import migrate
from app.store.settings_repo import SettingsRepo
from app.store.sync.sync_repo import decisions_to_send
from tests.conftest import _KEYRING

_INSERT = text(
    "INSERT INTO conflicts (key, entity, entity_id, field, winner_value, winner_hlc, "
    "loser_value, loser_hlc, found_at, resolved_at, resolution) VALUES (:key, 'patient', "
    "'01900000-0000-7000-8000-000000000001', 'note', '\"a\"', 'h2', '\"b\"', 'h1', "
    "'2026-11-01T10:00:00+00:00', :resolved_at, :resolution)"
)


def test_the_upgrade_keeps_decisions_to_send_and_drops_what_the_cloud_sends_again(
        tmp_path: Path) -> None:
    path = tmp_path / "old.chairside"
    key = keys.create_key(path, SecretStore(_KEYRING), False)
    db = Database(path, key)
    migrate(db.writer, "0016")
    with db.writer.begin() as conn:
        for k, resolved_at, resolution in (
            ("open", None, None),
            ("chosen", "2026-11-02T10:00:00+00:00", "other"),
            ("settled", "2026-11-02T10:00:00+00:00", "elsewhere"),
        ):
            conn.execute(_INSERT, {"key": k, "resolved_at": resolved_at,
                                   "resolution": resolution})
        conn.execute(text("INSERT INTO settings (key, value) VALUES ('conflicts_cursor', '7')"))
    migrate(db.writer)
    try:
        with db.writer.begin() as conn:
            keys_left = sorted(r[0] for r in conn.execute(text("SELECT key FROM conflicts")))
        assert keys_left == ["chosen", "settled"]
        assert decisions_to_send(db) == [{"key": "chosen", "resolution": "other"}]
        assert SettingsRepo(db).get("conflicts_cursor") == 0  # the whole list, from the start
    finally:
        db.close()
