"""Program users belong to the practice: two PCs, real agents, a real cloud on loopback."""

from __future__ import annotations

from pathlib import Path

from app.core.ids import new_id
from app.platform.secrets import SecretStore
from app.store import keys
from app.store.db import open_database
from app.store.dto import PatientFilter
from app.store.services import Store
from sync_agent import connection
from sync_agent.runner import Agent
from tests.conftest import _KEYRING
from tests.integration.agent.conftest import PC
from tests.unit.store.test_users import _old_release_database


def patients_of(pc: PC, user) -> set[str]:
    return {p.first_name for p in pc.store.patients.search(user.viewer(), PatientFilter())}


def everywhere(*pcs: PC) -> None:
    """Sync until every PC has every other's changes: a merge of two users is made by
    the PC that notices it, at a pull, and goes up with its next sync."""
    for _ in range(3):
        for pc in pcs:
            pc.sync()


def test_a_member_made_on_one_pc_signs_in_on_the_other_and_sees_his_patients(clinic) -> None:
    a, b = clinic(2)
    lee = a.store.users.create("drlee", "Dr Lee", "lee-secret-1", "member", by=a.admin.viewer())
    for name, owner in (("Ana", lee.id), ("Bo", lee.id), ("Cem", a.admin.id)):
        a.store.patients.create(a.admin.viewer(), {"first_name": name,
                                                   "responsible_user_id": owner})
    assert b.store.users.authenticate("drlee", "lee-secret-1") is None
    everywhere(a, b)
    on_b = b.store.users.authenticate("drlee", "lee-secret-1")
    assert on_b is not None and on_b.id == lee.id and on_b.role == "member"
    assert patients_of(b, on_b) == {"Ana", "Bo"}
    assert {u.username for u in b.store.users.list()} == {"admin0", "admin1", "drlee"}


def test_a_password_changed_on_one_pc_is_the_password_on_the_other(clinic) -> None:
    a, b = clinic(2)
    lee = a.store.users.create("drlee", "Dr Lee", "lee-secret-1", "member", by=a.admin.viewer())
    everywhere(a, b)
    b.store.users.set_password(b.admin.viewer(), lee.id, "lee-secret-2")
    everywhere(b, a)
    assert a.store.users.authenticate("drlee", "lee-secret-2") is not None
    assert a.store.users.authenticate("drlee", "lee-secret-1") is None


def test_a_user_disabled_on_one_pc_cannot_sign_in_on_the_other(clinic) -> None:
    a, b = clinic(2)
    lee = a.store.users.create("drlee", "Dr Lee", "lee-secret-1", "member", by=a.admin.viewer())
    everywhere(a, b)
    assert b.store.users.authenticate("drlee", "lee-secret-1") is not None
    a.store.users.update(a.admin.viewer(), lee.id, active=False)
    everywhere(a, b)
    assert b.store.users.authenticate("drlee", "lee-secret-1") is None
    assert not b.store.users.still_allowed(lee.id)


def test_drlee_made_offline_on_both_pcs_becomes_one_with_all_his_patients(clinic) -> None:
    a, b = clinic(2)
    lee_a = a.store.users.create("drlee", "Dr Lee", "lee-secret-1", "member",
                                 by=a.admin.viewer())
    lee_b = b.store.users.create("drlee", "Dr Lee", "lee-secret-1", "member",
                                 by=b.admin.viewer())
    a.store.patients.create(a.admin.viewer(), {"first_name": "Ana",
                                               "responsible_user_id": lee_a.id})
    b.store.patients.create(b.admin.viewer(), {"first_name": "Bo",
                                               "responsible_user_id": lee_b.id})
    b.store.patients.create(b.admin.viewer(), {"first_name": "Cem",
                                               "responsible_user_id": b.admin.id})
    everywhere(a, b)
    kept, gone = sorted([lee_a.id, lee_b.id])
    for pc in (a, b):
        lees = [u for u in pc.store.users.list() if u.username == "drlee"]
        assert [u.id for u in lees] == [kept]
        lee = pc.store.users.authenticate("drlee", "lee-secret-1")
        assert lee is not None and lee.id == kept
        assert patients_of(pc, lee) == {"Ana", "Bo"}
        # The admin is told, on every PC.
        assert [(m.id, m.kept_id) for m in pc.store.users.merged()] == [(gone, kept)]
    assert a.repo.outbox_counts() == (0, 0) and b.repo.outbox_counts() == (0, 0)


def test_two_old_databases_each_with_its_own_drlee_end_with_the_same_users(
    cloud, tmp_path: Path
) -> None:
    import httpx

    from tests.unit.cloud.support import register_practice

    secrets = SecretStore(_KEYRING)
    with httpx.Client(base_url=cloud.url, timeout=30) as http:
        inst, password = register_practice(http, cloud.mail_dir, f"{new_id()[:8]}@example.com")
    pcs: list[PC] = []
    old_ids: list[list[str]] = []
    try:
        for i in range(2):
            path = tmp_path / f"old{i}.chairside"
            key = keys.create_key(path, secrets, False)
            old_ids.append(_old_release_database(
                path, key, [("admin", f"admin-pass-{i}"), ("drlee", f"lee-pass-{i}")]))
            store = Store.over(open_database(path, secrets))  # the new release opens it
            connection.register_device(store.db, secrets, cloud.url, inst, password)
            pcs.append(PC(f"old{i}", store, Agent(store.db, secrets, tick_s=0.05),
                          store.users.list()[0]))
        everywhere(*pcs)
        listed = [[(u.username, u.id) for u in pc.store.users.list()] for pc in pcs]
        assert listed[0] == listed[1]
        assert sorted(name for name, _id in listed[0]) == ["admin", "drlee"]
        # The user made first is kept, under the same id on both PCs.
        drlee = dict(listed[0])["drlee"]
        assert drlee == min(old_ids[0][1], old_ids[1][1])
        for pc in pcs:
            assert len(pc.store.users.merged()) == 2
            assert pc.repo.outbox_counts() == (0, 0)
    finally:
        for pc in pcs:
            pc.store.db.close()
