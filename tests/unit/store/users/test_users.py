"""Program users are practice data: synced, merged by name, managed by an admin."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from app.core.ids import new_id, new_node_id
from app.core.wire import Mutation
from app.platform.secrets import SecretStore
from app.store import keys
from app.store.db import Database, Identity, open_database
from app.store.dto import PatientFilter, Viewer
from app.store.errors import PermissionDeniedError
from app.store.migrate import migrate
from app.store.models import OutboxMutation, User
from app.store.services import Store
from app.store.sync.sync_repo import SyncRepo
from app.store.users.users_repo import UserError
from tests.conftest import _KEYRING


def queued(store: Store, entity: str = "user") -> list[Mutation]:
    with store.db.read() as s:
        rows = s.scalars(select(OutboxMutation).where(OutboxMutation.entity == entity)
                         .order_by(OutboxMutation.seq))
        return [Mutation.from_wire(r.payload) for r in rows]


def deliver(source: Store, target: Store) -> None:
    """What the cloud would hand `target` of `source`'s queued changes (a pull page)."""
    with source.db.read() as s:
        rows = list(s.scalars(select(OutboxMutation).order_by(OutboxMutation.seq)))
    changes = [
        {"entity": r.payload["entity"], "entity_id": r.payload["entity_id"],
         "fields": {n: {"value": v, "hlc": r.payload["hlc"][n],
                        "base": r.payload["base"].get(n)}
                    for n, v in r.payload["fields"].items()}}
        for r in rows
    ]
    repo = SyncRepo(target.db)
    repo.apply_remote(changes, repo.pull_cursor() + len(changes))


@pytest.fixture
def second(tmp_path: Path, _template_db: tuple[Path, str]):
    """Another PC of the same practice: a copy of the template, a replica of its own."""
    path = tmp_path / "second.chairside"
    shutil.copyfile(_template_db[0], path)
    _KEYRING.set_password("Chairside", keys._slot(path), _template_db[1])
    db = open_database(path, SecretStore(_KEYRING))
    identity = Identity(new_node_id(), new_id())
    with db.writer.begin() as conn:
        conn.exec_driver_sql("UPDATE sync_state SET node_id = ?, database_id = ?",
                             (identity.node_id, identity.database_id))
    db.identity = identity
    yield Store.over(db)
    db.close()


def test_a_new_user_is_queued_with_a_hash_never_the_password(store, admin) -> None:
    member = store.users.create("drlee", "Dr Lee", "lee-secret-1", "member", by=admin.viewer())
    m = queued(store)[-1]
    assert m.entity_id == member.id
    assert m.fields["username"] == "drlee" and m.fields["role"] == "member"
    assert m.fields["password_hash"].startswith("$argon2id$")
    assert m.fields["active"] is True and m.fields["merged_into"] is None
    with store.db.read() as s:
        everything = json.dumps([r.payload for r in s.scalars(select(OutboxMutation))])
    assert "lee-secret-1" not in everything


def test_users_made_on_one_pc_sign_in_on_the_other(store, admin, second) -> None:
    store.users.create("drlee", "Dr Lee", "lee-secret-1", "member", by=admin.viewer())
    deliver(store, second)
    assert [u.username for u in second.users.list()] == ["admin", "drlee"]
    signed = second.users.authenticate("DrLee", "lee-secret-1")
    assert signed is not None and signed.role == "member"
    assert second.users.authenticate("drlee", "wrong-password") is None
    # Pulled changes are not queued to go back up.
    assert queued(second) == []


def test_the_same_name_made_offline_on_two_pcs_becomes_one_user(store, admin, second) -> None:
    lee_a = store.users.create("drlee", "Dr Lee", "lee-secret-a", "member", by=admin.viewer())
    lee_b = second.users.create("drlee", "Dr Lee (B)", "lee-secret-b", "member")
    a_patient = store.patients.create(admin.viewer(), {"first_name": "Ana",
                                                       "responsible_user_id": lee_a.id})
    b_patient = second.patients.create(Viewer(lee_b.id, False), {"first_name": "Bo"})
    deliver(store, second)
    deliver(second, store)
    kept, gone = sorted([lee_a.id, lee_b.id])
    for pc in (store, second):
        users = [u for u in pc.users.list() if u.username == "drlee"]
        assert [(u.id, u.aliases) for u in users] == [(kept, (gone,))]
        # Signing in gives the kept user, who sees the patients made his on both PCs.
        lee = pc.users.authenticate("drlee", "lee-secret-a" if kept == lee_a.id
                                    else "lee-secret-b")
        assert lee is not None and lee.id == kept
        seen = pc.patients.search(lee.viewer(), PatientFilter())
        assert {p.id for p in seen} == {a_patient.id, b_patient.id}
        # The admin is told.
        assert [(m.id, m.kept_id) for m in pc.users.merged()] == [(gone, kept)]
    # The merge is a change like any other: it goes up with the next push.
    assert queued(second)[-1].fields["merged_into"] == kept


def test_an_admin_splits_two_people_who_picked_the_same_name(store, admin, second) -> None:
    lee_a = store.users.create("drlee", "Dr Lee", "lee-secret-a", "member", by=admin.viewer())
    lee_b = second.users.create("drlee", "Dr Leigh", "lee-secret-b", "member")
    second.patients.create(Viewer(lee_b.id, False), {"first_name": "Bo"})
    deliver(second, store)
    kept, gone = sorted([lee_a.id, lee_b.id])
    store.users.split(admin.viewer(), gone, "drleigh")
    assert store.users.merged() == []
    names = {u.username: u for u in store.users.list()}
    assert names["drlee"].id == kept and names["drlee"].aliases == ()
    assert names["drleigh"].id == gone
    # What was made the split user's is his again.
    leigh = names["drleigh"].viewer()
    owned = {p.first_name for p in store.patients.search(leigh, PatientFilter())}
    assert owned == ({"Bo"} if gone == lee_b.id else set())


def test_only_an_admin_manages_users_and_one_admin_always_stays(store, admin) -> None:
    member = store.users.create("drlee", "Dr Lee", "lee-secret-1", "member", by=admin.viewer())
    with pytest.raises(PermissionDeniedError):
        store.users.create("x1", "X", "password-1", "member", by=member.viewer())
    with pytest.raises(PermissionDeniedError):
        store.users.update(member.viewer(), member.id, role="admin")
    with pytest.raises(UserError, match="yourself"):
        store.users.update(admin.viewer(), admin.id, active=False)
    with pytest.raises(UserError, match="at least one active administrator"):
        store.users.update(admin.viewer(), admin.id, role="member")
    with pytest.raises(UserError, match="already a user"):
        store.users.create("DRLEE", "Other", "password-1", "member", by=admin.viewer())
    # A member changes his own password, not somebody else's.
    store.users.set_password(member.viewer(), member.id, "lee-secret-2")
    with pytest.raises(PermissionDeniedError):
        store.users.set_password(member.viewer(), admin.id, "taken-over")


def test_disable_rename_and_password_reset_travel(store, admin, second) -> None:
    lee = store.users.create("drlee", "Dr Lee", "lee-secret-1", "member", by=admin.viewer())
    deliver(store, second)
    before = len(queued(store))
    store.users.update(admin.viewer(), lee.id, display_name="Dr Lee Min", role="admin")
    store.users.set_password(admin.viewer(), lee.id, "lee-secret-2")
    assert len(queued(store)) == before + 2
    deliver(store, second)
    assert second.users.authenticate("drlee", "lee-secret-1") is None
    signed = second.users.authenticate("drlee", "lee-secret-2")
    assert signed is not None and (signed.display_name, signed.role) == ("Dr Lee Min", "admin")
    store.users.update(admin.viewer(), lee.id, active=False)
    deliver(store, second)
    assert second.users.authenticate("drlee", "lee-secret-2") is None
    assert second.users.still_allowed(lee.id) is False
    assert [u.active for u in second.users.list() if u.id == lee.id] == [False]


def _old_release_database(path: Path, key: str, users: list[tuple[str, str]],
                          patients: tuple[tuple[str, str], ...] = ()) -> list[str]:
    """A database as the release before synced users left it (schema 0007): users as
    local rows, no stamps, nothing queued for them; `patients` (first name, username of
    the responsible user) made and queued as that release did (patients did not change
    since). Returns the users' ids."""
    from argon2 import PasswordHasher

    db = Database(path, key)
    migrate(db.writer, "0007")
    db.ensure_identity()
    ids: dict[str, str] = {}
    with db.writer.begin() as conn:
        for username, password in users:
            ids[username] = new_id()
            conn.exec_driver_sql(
                "INSERT INTO users (id, username, display_name, password_hash, role, active) "
                "VALUES (?, ?, ?, ?, ?, 1)",
                (ids[username], username, username.title(), PasswordHasher().hash(password),
                 "admin" if username == "admin" else "member"))
    from app.store.patients.patients_repo import PatientsRepo

    admin = Viewer(next(iter(ids.values())), True)
    for first_name, owner in patients:
        PatientsRepo(db).create(admin, {"first_name": first_name,
                                        "responsible_user_id": ids[owner]})
    db.close()
    return list(ids.values())


def test_the_upgrade_queues_existing_users(tmp_path: Path) -> None:
    path = tmp_path / "old.chairside"
    key = keys.create_key(path, SecretStore(_KEYRING), False)
    (uid,) = _old_release_database(path, key, [("drlee", "lee-secret-1")])
    db = open_database(path, SecretStore(_KEYRING))
    try:
        store = Store.over(db)
        (m,) = queued(store)
        assert m.entity_id == uid and m.fields["username"] == "drlee"
        assert store.users.authenticate("drlee", "lee-secret-1").id == uid
        with db.read() as s:
            assert set(s.get(User, uid).stamps) >= {"username", "password_hash", "active"}
    finally:
        db.close()


def test_a_user_change_seen_before_the_user_signs_nobody_in(store, admin) -> None:
    """A change of a user whose creation has not arrived (never expected: the cloud
    sends a user's changes in order) makes a row nobody can sign in as."""
    from app.core.hlc import Clock

    uid = new_id()
    stamp = str(Clock(new_node_id()).now())
    repo = SyncRepo(store.db)
    repo.apply_remote([{"entity": "user", "entity_id": uid,
                        "fields": {"active": {"value": True, "hlc": stamp, "base": None}}}],
                      repo.pull_cursor() + 1)
    assert store.users.authenticate("", "") is None
    assert store.users.get(uid).role == "member"
