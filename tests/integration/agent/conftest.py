"""A clinic of several PCs, each with its own database and agent, and a real cloud."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from app.core.ids import new_id
from app.platform.secrets import SecretStore
from app.store.dto import UserRow
from app.store.services import Store
from app.store.sync.sync_repo import SyncRepo
from sync_agent import connection
from sync_agent.runner import Agent
from tests.conftest import _KEYRING, copy_of_template, open_replica
from tests.integration.cloud.conftest import Server, start_server, stop_server
from tests.unit.cloud.support import register_practice


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(tmp_path_factory.mktemp("cloud") / "data")
    yield srv
    stop_server(srv)


@dataclass
class PC:
    name: str
    store: Store
    agent: Agent
    admin: UserRow

    def sync(self) -> None:
        self.agent.sync_once(forced=True)
        assert self.agent.last_error is None, self.agent.last_error

    @property
    def repo(self) -> SyncRepo:
        return self.agent.sync


def new_pc(name: str, folder: Path, template: tuple[Path, str]) -> Store:
    return open_replica(copy_of_template(template, folder / f"{name}.chairside"))


@pytest.fixture
def clinic(
    cloud: Server, tmp_path: Path, _template_db: tuple[Path, str]
) -> Iterator[Callable[[int], list[PC]]]:
    made: list[PC] = []

    def make(n: int) -> list[PC]:
        with httpx.Client(base_url=cloud.url, timeout=30) as http:
            inst, password = register_practice(http, cloud.mail_dir, f"{new_id()[:8]}@example.com")
        secrets = SecretStore(_KEYRING)
        pcs = []
        for i in range(n):
            # A file of its own even when a test makes a second clinic.
            store = new_pc(f"pc{len(made)}", tmp_path, _template_db)
            connection.register_device(store.db, secrets, cloud.url, inst, password)
            # Users are practice data: one name per PC, so that they do not merge.
            admin = store.users.create(f"admin{i}", f"Admin {i}", "correct horse", "admin")
            pc = PC(f"pc{i}", store, Agent(store.db, secrets, tick_s=0.05), admin)
            pcs.append(pc)
            made.append(pc)
        # Each PC's admin goes up now, so that a test starts from an empty outbox.
        for pc in pcs:
            pc.sync()
        return pcs

    yield make
    for pc in made:
        pc.store.db.close()
