"""Shared fixtures: offscreen Qt, an in-memory keyring, fresh migrated databases."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before anything loads Qt

import keyring
import pytest

from tests.support.memkeyring import MemoryKeyring

if TYPE_CHECKING:  # for the annotations; each fixture imports what it runs
    from app.platform.secrets import SecretStore
    from app.store.dto import UserRow
    from app.store.services import Store

_KEYRING = MemoryKeyring()
keyring.set_keyring(_KEYRING)


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets its own data and config folders (and so its own databases)."""
    monkeypatch.setenv("CHAIRSIDE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CHAIRSIDE_CONFIG_DIR", str(tmp_path / "config"))


@pytest.fixture(scope="session")
def _template_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """One migrated database per test run; tests start from copies of it."""
    from app.platform.secrets import SecretStore
    from app.store import keys
    from app.store.db import open_database

    folder = tmp_path_factory.mktemp("template")
    os.environ["CHAIRSIDE_CONFIG_DIR"] = str(folder / "config")
    path = folder / "template.chairside"
    db = open_database(path, SecretStore(_KEYRING))
    db.close()
    return path, keys.load_key(path, SecretStore(_KEYRING))


@pytest.fixture
def secrets_store() -> SecretStore:
    from app.platform.secrets import SecretStore

    return SecretStore(_KEYRING)


def copy_of_template(template: tuple[Path, str], path: Path) -> Path:
    """A copy of the migrated template at `path`, its key in the (test) keyring."""
    from app.store import keys

    shutil.copyfile(template[0], path)
    _KEYRING.set_password("Chairside", keys._slot(path), template[1])
    return path


def open_replica(path: Path) -> Store:
    """The practice database at `path` opened as a replica of its own: a new node id
    and database id, as a PC that joins gets (copies of one template share theirs)."""
    from app.core.ids import new_id, new_node_id
    from app.platform.secrets import SecretStore
    from app.store.db import Identity, open_database
    from app.store.services import Store

    db = open_database(path, SecretStore(_KEYRING))
    identity = Identity(new_node_id(), new_id())
    with db.writer.begin() as conn:
        conn.exec_driver_sql(
            "UPDATE sync_state SET node_id = ?, database_id = ?",
            (identity.node_id, identity.database_id),
        )
    db.identity = identity
    return Store.over(db)


@pytest.fixture
def db_path(tmp_path: Path, _template_db: tuple[Path, str]) -> Path:
    """A fresh copy of the migrated template with its key in the (test) keyring."""
    return copy_of_template(_template_db, tmp_path / "practice.chairside")


@pytest.fixture
def store(db_path: Path) -> Iterator[Store]:
    store = open_replica(db_path)
    yield store
    store.db.close()


@pytest.fixture
def admin(store: Store) -> UserRow:
    return store.users.create("admin", "Dr Admin", "correct horse", "admin")
