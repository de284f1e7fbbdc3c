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
from tests.unit.store.users.test_users import _old_release_database


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
                path, key, [("admin", f"admin-pass-{i}"), ("drlee", f"lee-pass-{i}")],
                patients=((f"Lee's {i}", "drlee"), (f"Admin's {i}", "admin"))))
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
        kept = 0 if drlee == old_ids[0][1] else 1
        for pc in pcs:
            assert len(pc.store.users.merged()) == 2
            assert pc.repo.outbox_counts() == (0, 0)
            # drlee signs in with the password of the one kept, and sees his patients
            # from both databases.
            assert pc.store.users.authenticate("drlee", f"lee-pass-{1 - kept}") is None
            lee = pc.store.users.authenticate("drlee", f"lee-pass-{kept}")
            assert lee is not None and lee.id == drlee
            assert patients_of(pc, lee) == {"Lee's 0", "Lee's 1"}
    finally:
        for pc in pcs:
            pc.store.db.close()


def test_as_users_see_it_drlee_made_on_both_pcs_signs_in_and_sees_all_his_patients(
    clinic, qtbot
) -> None:
    """The users window on PC 1, the sign-in dialog and patient list on PC 2."""
    from PySide6.QtCore import Qt

    from app.ui.shell.context import AppContext
    from app.ui.shell.login_dialog import LoginDialog
    from app.ui.shell.main_window import MainWindow
    from app.ui.shell.ops import OpRunner
    from app.ui.users.users_dialog import UsersDialog
    from tests.gui.users.test_users_dialog import fill, save

    a, b = clinic(2)
    ops = OpRunner()
    try:
        users = UsersDialog(AppContext(a.store, a.admin, ops))
        qtbot.addWidget(users)
        users.show()
        users.add_user()
        form = users.form
        qtbot.waitUntil(form.isVisible)
        fill(qtbot, form, username="drlee", display_name="Dr Lee", role="Member",
             password="lee-secret-1", repeat="lee-secret-1")
        save(qtbot, form)
        qtbot.waitUntil(lambda: users.model.rowCount() == 2)
        lee_a = next(u for u in users.model.rows if u.username == "drlee")
        for name in ("Ana", "Bo"):
            a.store.patients.create(a.admin.viewer(), {"first_name": name, "last_name": "A",
                                                       "responsible_user_id": lee_a.id})
        a.store.patients.create(a.admin.viewer(), {"first_name": "Cem", "last_name": "A"})
        # Meanwhile, not connected, PC 2 makes its own drlee and gives him a patient.
        lee_b = b.store.users.create("drlee", "Dr Lee", "lee-secret-2", "member",
                                     by=b.admin.viewer())
        b.store.patients.create(b.admin.viewer(), {"first_name": "Dee", "last_name": "B",
                                                   "responsible_user_id": lee_b.id})
        everywhere(a, b)

        login = LoginDialog(b.store, "Smile Clinic")
        qtbot.addWidget(login)
        login.show()
        listed = login.username.completer().model()
        assert sorted(listed.index(r, 0).data() for r in range(listed.rowCount())) == [
            "admin0", "admin1", "drlee"]  # PC 1's admin and drlee came with the sync
        qtbot.keyClicks(login.username, "drlee")
        qtbot.keyClicks(login.password, "lee-secret-1")  # the one made first is kept
        qtbot.keyClick(login.password, Qt.Key.Key_Return)
        assert login.user is not None and login.user.id == lee_a.id
        window = MainWindow(AppContext(b.store, login.user, ops))
        qtbot.addWidget(window)
        window.show()
        model = window.patient_list.model
        qtbot.waitUntil(lambda: model.rowCount() == 3)
        assert sorted(model.index(r, 0).data() for r in range(3)) == ["Ana A", "Bo A", "Dee B"]
        window.close()

        told = UsersDialog(AppContext(b.store, b.admin, ops))
        qtbot.addWidget(told)
        told.show()
        qtbot.waitUntil(told.merged_box.isVisible)
        assert told.merged_list.count() == 1
        assert "are now one user" in told.notice.text()
    finally:
        ops.wait_idle()
        ops.shutdown()
