"""The users window as an administrator uses it, and a disabled user's open window."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox, QLineEdit, QMessageBox, QPushButton

from app.core.hlc import Clock
from app.core.ids import new_id
from app.store.sync.sync_repo import SyncRepo
from app.store.users.users_repo import _hasher
from app.ui.shell.context import AppContext
from app.ui.shell.main_window import MainWindow
from app.ui.shell.ops import OpRunner
from app.ui.users.users_dialog import UserForm, UsersDialog

WAIT = 10_000


def open_users(window: MainWindow, qtbot) -> UsersDialog:
    practice = next(a for a in window.menuBar().actions() if a.text() == "&Practice")
    assert "&Users…" in [a.text() for a in practice.menu().actions()]
    window.users_action.trigger()
    dialog = window.users_dialog
    qtbot.waitUntil(lambda: dialog.isVisible() and dialog.model.rowCount() > 0, timeout=WAIT)
    return dialog


def shown(dialog: UsersDialog) -> list[tuple[str, ...]]:
    m = dialog.model
    return [tuple(m.data(m.index(r, c)) for c in range(m.columnCount()))
            for r in range(m.rowCount())]


def fill(qtbot, form: UserForm, **values: str) -> None:
    for name, text in values.items():
        w = form.fields[name]
        if isinstance(w, QLineEdit):
            w.clear()
            qtbot.keyClicks(w, text)
        else:
            w.setCurrentIndex(w.findText(text))


def save(qtbot, form: UserForm) -> None:
    box = form.findChild(QDialogButtonBox)
    qtbot.mouseClick(box.button(QDialogButtonBox.StandardButton.Save), Qt.MouseButton.LeftButton)


def click(qtbot, button: QPushButton) -> None:
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_an_admin_adds_edits_resets_and_disables_a_user(window, ctx, qtbot) -> None:
    dialog = open_users(window, qtbot)
    assert shown(dialog) == [("Dr Admin", "admin", "Administrator", "Active")]

    click(qtbot, dialog.add_button)
    form = dialog.form
    qtbot.waitUntil(form.isVisible, timeout=WAIT)
    fill(qtbot, form, username="drlee", display_name="Dr Lee", role="Member",
         password="lee-secret-1", repeat="lee-secret-2")
    save(qtbot, form)
    assert form.error.text() == "The two passwords are not the same."
    fill(qtbot, form, repeat="lee-secret-1")
    save(qtbot, form)
    qtbot.waitUntil(lambda: not form.isVisible(), timeout=WAIT)
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 2, timeout=WAIT)
    assert ("Dr Lee", "drlee", "Member", "Active") in shown(dialog)
    assert ctx.store.users.authenticate("drlee", "lee-secret-1") is not None

    # The same user name again is refused in the form, with what was typed kept.
    click(qtbot, dialog.add_button)
    form = dialog.form
    qtbot.waitUntil(form.isVisible, timeout=WAIT)
    fill(qtbot, form, username="DrLee", display_name="Another", password="password-9",
         repeat="password-9")
    save(qtbot, form)
    qtbot.waitUntil(lambda: form.error.isVisible(), timeout=WAIT)
    assert form.error.text() == "There is already a user called DrLee."
    assert form.fields["display_name"].text() == "Another"
    form.reject()

    dialog.select("drlee")
    click(qtbot, dialog.edit_button)
    form = dialog.form
    qtbot.waitUntil(form.isVisible, timeout=WAIT)
    assert form.fields["display_name"].text() == "Dr Lee"
    fill(qtbot, form, display_name="Dr Lee Min", role="Administrator")
    save(qtbot, form)
    qtbot.waitUntil(lambda: ("Dr Lee Min", "drlee", "Administrator", "Active")
                    in shown(dialog), timeout=WAIT)

    dialog.select("drlee")
    click(qtbot, dialog.password_button)
    form = dialog.form
    qtbot.waitUntil(form.isVisible, timeout=WAIT)
    fill(qtbot, form, password="lee-secret-2", repeat="lee-secret-2")
    save(qtbot, form)
    qtbot.waitUntil(lambda: "password of drlee was changed" in dialog.status.text(),
                    timeout=WAIT)
    assert ctx.store.users.authenticate("drlee", "lee-secret-1") is None
    assert ctx.store.users.authenticate("drlee", "lee-secret-2") is not None

    dialog.select("drlee")
    assert dialog.active_button.text() == "&Disable"
    click(qtbot, dialog.active_button)
    qtbot.waitUntil(lambda: ("Dr Lee Min", "drlee", "Administrator", "Disabled")
                    in shown(dialog), timeout=WAIT)
    assert ctx.store.users.authenticate("drlee", "lee-secret-2") is None
    dialog.select("drlee")
    assert dialog.active_button.text() == "&Enable"

    # Nobody disables himself out of the practice.
    dialog.select("admin")
    click(qtbot, dialog.active_button)
    qtbot.waitUntil(lambda: "cannot disable yourself" in dialog.status.text(), timeout=WAIT)


def test_a_member_has_no_users_window(store, admin, qapp, qtbot) -> None:
    member = store.users.create("drlee", "Dr Lee", "lee-secret-1", "member", by=admin.viewer())
    ops = OpRunner()
    w = MainWindow(AppContext(store, member, ops))
    qtbot.addWidget(w)
    try:
        assert "&Practice" not in [a.text() for a in w.menuBar().actions()]
        assert not hasattr(w, "users_action")
    finally:
        w.close()
        ops.wait_idle()
        ops.shutdown()


# The other PC: its clock only moves forward, and of two changes in one millisecond its
# node (the highest there is) makes its own the later, so each change here wins.
_OTHER_PC = Clock("fffffffffffffff0")


def pull_user(store, user_id: str, fields: dict[str, object]) -> None:
    """A change of a user made on another PC arrives with a sync."""
    stamp = str(_OTHER_PC.now())
    change = {"entity": "user", "entity_id": user_id,
              "fields": {n: {"value": v, "hlc": stamp, "base": None} for n, v in fields.items()}}
    repo = SyncRepo(store.db)
    repo.apply_remote([change], repo.pull_cursor() + 1)


def test_the_admin_is_told_of_a_merged_user_and_splits_him(window, ctx, qtbot) -> None:
    lee = ctx.store.users.create("drlee", "Dr Lee", "lee-secret-1", "member",
                                 by=ctx.viewer)
    other = new_id()  # made later on another PC: the one merged away
    pull_user(ctx.store, other, {
        "username": "drlee", "display_name": "Dr Leigh", "role": "member", "active": True,
        "password_hash": _hasher.hash("leigh-secret"), "merged_into": None})
    dialog = open_users(window, qtbot)
    qtbot.waitUntil(dialog.merged_box.isVisible, timeout=WAIT)
    assert "are now one user" in dialog.notice.text()
    assert dialog.merged_list.item(0).text() == "drlee: “Dr Leigh” is now “Dr Lee”"
    assert [r[1] for r in shown(dialog)] == ["admin", "drlee"]

    click(qtbot, dialog.split_button)
    form = dialog.form
    qtbot.waitUntil(form.isVisible, timeout=WAIT)
    fill(qtbot, form, username="drleigh")
    save(qtbot, form)
    qtbot.waitUntil(lambda: not dialog.merged_box.isVisible(), timeout=WAIT)
    assert ("Dr Leigh", "drleigh", "Member", "Active") in shown(dialog)
    assert ctx.store.users.authenticate("drleigh", "leigh-secret").id == other
    assert ctx.store.users.authenticate("drlee", "lee-secret-1").id == lee.id


def test_a_user_disabled_on_another_pc_is_signed_out_here(store, admin, qapp, qtbot) -> None:
    member = store.users.create("drlee", "Dr Lee", "lee-secret-1", "member", by=admin.viewer())
    ops = OpRunner()
    w = MainWindow(AppContext(store, member, ops))
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    try:
        pull_user(store, member.id, {"active": False})
        qtbot.waitUntil(lambda: getattr(w, "signed_out", False), timeout=WAIT)
        box = w.signed_out_message
        qtbot.waitUntil(box.isVisible, timeout=WAIT)
        assert "Dr Lee was disabled by an administrator" in box.text()
        assert not w.centralWidget().isEnabled() and not w.menuBar().isEnabled()
        with qtbot.waitSignal(w.session, timeout=WAIT) as signed_out:
            click(qtbot, box.button(QMessageBox.StandardButton.Ok))
        assert signed_out.args == ["sign_out"]  # the application shows the sign-in dialog
    finally:
        w.close()
        ops.wait_idle()
        ops.shutdown()


def test_a_patient_of_a_merged_doctor_shows_the_kept_one(ctx, qtbot) -> None:
    from app.ui.patients.patient_dialog import PatientDialog

    ctx.store.users.create("drkim", "Dr Kim", "kim-secret-1", "member", by=ctx.viewer)
    lee = ctx.store.users.create("drlee", "Dr Lee", "lee-secret-1", "member", by=ctx.viewer)
    other = new_id()  # drlee made on another PC, later: merged into this one
    pull_user(ctx.store, other, {
        "username": "drlee", "display_name": "Dr Lee", "role": "member", "active": True,
        "password_hash": _hasher.hash("lee-secret-2"), "merged_into": None})
    p = ctx.store.patients.create(ctx.viewer, {"first_name": "Bo",
                                               "responsible_user_id": other})
    dialog = PatientDialog(ctx, ctx.store.patients.get(ctx.viewer, p.id))
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.doctor.count() > 0, timeout=WAIT)
    assert [dialog.doctor.itemText(i) for i in range(dialog.doctor.count())] == [
        "Dr Admin", "Dr Kim", "Dr Lee"]
    assert (dialog.doctor.currentText(), dialog.doctor.currentData()) == ("Dr Lee", lee.id)
    dialog.close()


def test_a_signed_in_user_merged_into_his_namesake_sees_what_is_his(
    store, admin, qapp, qtbot
) -> None:
    """drlee signed in here is merged into a drlee made earlier on another PC: his
    window goes on as that user, with the patients given to either."""
    mine = store.users.create("drlee", "Dr Lee", "lee-secret-1", "member", by=admin.viewer())
    store.patients.create(admin.viewer(), {"first_name": "Mine", "last_name": "A",
                                           "responsible_user_id": mine.id})
    earlier = "01000000-0000-7000-8000-000000000001"  # made before: the one kept
    ops = OpRunner()
    w = MainWindow(AppContext(store, mine, ops))
    qtbot.addWidget(w)
    w.show()
    model = w.patient_list.model
    try:
        qtbot.waitUntil(lambda: model.rowCount() == 1, timeout=WAIT)
        pull_user(store, earlier, {
            "username": "drlee", "display_name": "Dr Lee", "role": "member", "active": True,
            "password_hash": _hasher.hash("lee-secret-0"), "merged_into": None})
        store.patients.create(admin.viewer(), {"first_name": "Theirs", "last_name": "B",
                                               "responsible_user_id": earlier})
        qtbot.waitUntil(lambda: w.ctx.user.id == earlier, timeout=WAIT)
        assert w.ctx.viewer.owner_ids == (earlier, mine.id)
        qtbot.waitUntil(lambda: model.rowCount() == 2, timeout=WAIT)
        assert sorted(model.index(r, 0).data() for r in range(2)) == ["Mine A", "Theirs B"]
        assert not w.signed_out

        # Made an administrator elsewhere: he signs in again to work as one.
        pull_user(store, earlier, {"role": "admin"})
        qtbot.waitUntil(lambda: w.signed_out, timeout=WAIT)
        assert "was given another role" in w.signed_out_message.text()
    finally:
        w.close()
        ops.wait_idle()
        ops.shutdown()


def test_the_sign_in_dialog_offers_the_practices_users(store, admin, qtbot) -> None:
    from app.ui.shell.login_dialog import LoginDialog

    store.users.create("drlee", "Dr Lee", "lee-secret-1", "member", by=admin.viewer())
    kim = store.users.create("drkim", "Dr Kim", "kim-secret-1", "member", by=admin.viewer())
    store.users.update(admin.viewer(), kim.id, active=False)
    dialog = LoginDialog(store, "Smile Clinic")
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    qtbot.keyClicks(dialog.username, "DR")
    popup = dialog.username.completer().popup()
    qtbot.waitUntil(popup.isVisible, timeout=WAIT)
    assert [popup.model().index(r, 0).data() for r in range(popup.model().rowCount())] == [
        "drlee"]  # a disabled user is not offered
    qtbot.keyClick(popup, Qt.Key.Key_Down)
    qtbot.keyClick(popup, Qt.Key.Key_Return)
    assert dialog.username.text() == "drlee"
