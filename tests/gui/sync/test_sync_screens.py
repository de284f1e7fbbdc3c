"""The sync screens: status bar, the conflict inbox."""

from __future__ import annotations

from sqlalchemy import select

from app.store.models import AgentRequest, ConflictRecord, Patient
from app.store.sync.agent_repo import AgentRepo
from app.ui.sync.conflicts_dialog import ConflictsDialog


def make_conflict(store, admin) -> str:
    p = store.patients.create(
        admin.viewer(), {"first_name": "Mira", "last_name": "Voss", "allergies": "Penicillin"}
    )
    with store.db.write() as s:
        row = s.get(Patient, p.id)
        now = row.stamps["allergies"][0]
        s.add(
            ConflictRecord(
                key="k1",
                entity="patient",
                entity_id=p.id,
                field="allergies",
                winner_value="Penicillin",
                winner_hlc=now,
                loser_value="Latex",
                loser_hlc="1700000000000-0000-00000000000000aa",
                found_at="2026-11-25T10:00:00+00:00",
            )
        )
    return p.id


def test_status_bar_says_when_the_service_is_not_running_and_when_it_is(window, qtbot, ctx):
    status = window.agent_status
    qtbot.waitUntil(lambda: status.label.text() == "Sync service is not running")
    assert status.start_button.isVisibleTo(window)
    AgentRepo(ctx.store.db).publish(
        pid=1, online=True, waiting_changes=3, waiting_uploads=2, stopped_at=None
    )
    status.refresh()
    qtbot.waitUntil(
        lambda: status.label.text() == "Service is running — everything is up to date"
    )
    ctx.store.patients.create(ctx.viewer, {"first_name": "Ana", "last_name": "Lima"})
    status.refresh()
    qtbot.waitUntil(lambda: status.label.text() == "Service is running — 1 change waiting")
    assert not status.start_button.isVisibleTo(window)
    AgentRepo(ctx.store.db).publish(online=False, last_error="no connection to the server")
    status.refresh()
    qtbot.waitUntil(lambda: "offline (no connection to the server)" in status.label.text())


def test_synchronize_now_asks_the_agent(window, qtbot, ctx):
    window._ask_agent("sync_now")
    with ctx.store.db.read() as s:
        qtbot.waitUntil(lambda: s.scalars(select(AgentRequest)).first() is not None or True)
    qtbot.waitUntil(lambda: _requests(ctx) == ["sync_now"])


def _requests(ctx) -> list[str]:
    with ctx.store.db.read() as s:
        return [r.kind for r in s.scalars(select(AgentRequest))]


def test_conflict_inbox_shows_both_values_and_keeps_the_chosen_one(window, qtbot, ctx, admin):
    pid = make_conflict(ctx.store, admin)
    window.show_conflicts()
    qtbot.waitUntil(lambda: any(d.isVisible() for d in window.findChildren(ConflictsDialog)))
    dialog = next(d for d in window.findChildren(ConflictsDialog) if d.isVisible())
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 1)
    cells = [dialog.model.index(0, c).data() for c in range(6)]
    assert cells[:3] == ["Mira Voss", "Allergies", "Penicillin"]
    assert cells[4] == "Latex" and cells[5].endswith("on PC 000000")
    dialog.other.click()
    qtbot.waitUntil(lambda: dialog.empty.isVisible())
    assert ctx.store.patients.get(ctx.viewer, pid).get("allergies") == "Latex"
    from app.store.sync.sync_repo import SyncRepo

    pending = SyncRepo(ctx.store.db).outbox_batch(100, 10**6)
    assert pending[-1].payload["fields"] == {"allergies": "Latex"}


def test_upload_list_shows_waiting_and_failed_per_patient_with_reasons(
    window, qtbot, ctx, tmp_path
):
    from app.store.sync.sync_repo import SyncRepo
    from app.store.sync.uploads_repo import UploadsRepo
    from app.ui.sync.upload_list_dialog import UploadListDialog

    v = ctx.viewer
    ana = ctx.store.patients.create(v, {"first_name": "Ana", "last_name": "Lima"})
    rui = ctx.store.patients.create(v, {"first_name": "Rui", "last_name": "Sousa"})
    ctx.store.records.add_visit(v, ana.id, {"visit_date": "2026-11-20"})
    failing = SyncRepo(ctx.store.db).outbox_batch(10, 10**6)[-1]
    SyncRepo(ctx.store.db).fail(failing.seq, "the server refused it: visit.notes too long")
    photo = tmp_path / "smile.jpg"
    photo.write_bytes(b"\xff\xd8" + b"x" * 5000)
    uploads = UploadsRepo(ctx.store.db)
    uploads.enqueue(photo, rui.id, "intraoral_photo", "smile.jpg")
    window.show_upload_list()
    qtbot.waitUntil(lambda: any(d.isVisible() for d in window.findChildren(UploadListDialog)))
    dialog = next(d for d in window.findChildren(UploadListDialog) if d.isVisible())
    qtbot.waitUntil(lambda: dialog.changes.rowCount() == 3 and dialog.images.rowCount() == 1)
    assert dialog.summary.text() == "2 changes and 1 image waiting, 1 failed"
    failed = [r for r in dialog.changes.rows if r.status == "failed"]
    assert [(r.patient_name, r.what, r.error) for r in failed] == [
        ("Ana Lima", "Record", "the server refused it: visit.notes too long")
    ]
    assert dialog.images.rows[0].patient_name == "Rui Sousa"
    assert dialog.images.index(0, 3).data() == "0%"
    qtbot.keyClicks(dialog.patient, "rui")
    qtbot.waitUntil(lambda: dialog.changes.rowCount() == 1)
    assert dialog.changes.rows[0].patient_name == "Rui Sousa"
    dialog.status.setCurrentIndex(dialog.status.findData("failed"))
    qtbot.waitUntil(lambda: dialog.changes.rowCount() == 0 and dialog.images.rowCount() == 0)
    dialog.patient.clear()
    qtbot.waitUntil(lambda: dialog.changes.rowCount() == 1)
    dialog.grab()  # the progress bar delegate paints without error
    dialog.close()


def test_status_bar_upload_list_and_server_window_count_the_same_things(
    window, qtbot, ctx, tmp_path
):
    from app.store.models import Upload
    from app.store.sync.sync_repo import SyncRepo
    from app.store.sync.uploads_repo import UploadsRepo
    from app.ui.server.server_window import ServerWindow
    from app.ui.sync.upload_list_dialog import UploadListDialog

    v = ctx.viewer
    ana = ctx.store.patients.create(v, {"first_name": "Ana", "last_name": "Lima"})
    ctx.store.records.add_visit(v, ana.id, {"visit_date": "2026-11-20"})
    sync = SyncRepo(ctx.store.db)
    sync.fail(sync.outbox_batch(10, 10**6)[-1].seq, "the server refused it")
    uploads = UploadsRepo(ctx.store.db)
    for i, status in enumerate(("pending", "held", "failed", "done")):
        photo = tmp_path / f"p{i}.jpg"
        photo.write_bytes(b"\xff\xd8" + bytes([i]) * 3000)
        sha = uploads.enqueue(photo, ana.id, "intraoral_photo", photo.name)
        with ctx.store.db.write() as s:
            s.query(Upload).filter(Upload.sha256 == sha).update({"status": status})
    # The agent's own figures are older than the database: they must not be shown.
    AgentRepo(ctx.store.db).publish(pid=1, online=True, waiting_changes=9, waiting_uploads=9,
                                    stopped_at=None)
    expected = "1 change and 2 images waiting, 2 failed"
    window.agent_status.refresh()
    qtbot.waitUntil(lambda: window.agent_status.label.text().startswith(
        f"Service is running — {expected} — 1 offline image to match"))
    window.show_upload_list()
    qtbot.waitUntil(lambda: any(d.isVisible() for d in window.findChildren(UploadListDialog)))
    dialog = next(d for d in window.findChildren(UploadListDialog) if d.isVisible())
    qtbot.waitUntil(lambda: dialog.summary.text() == expected[0].upper() + expected[1:])
    waiting = [r for r in dialog.changes.rows if r.status == "waiting"]
    sending = [r for r in dialog.images.rows if r.status in ("waiting", "sending")]
    failed = [r for r in dialog.changes.rows + dialog.images.rows if r.status == "failed"]
    assert (len(waiting), len(sending), len(failed)) == (1, 2, 2)  # as the rows show
    dialog.close()
    server = ServerWindow(ctx, window)
    qtbot.addWidget(server)
    qtbot.waitUntil(lambda: server.service.text() == f"Service is running — {expected}")
    server.close()


def test_the_status_bar_is_on_screen_at_first_start(window, qtbot):
    from PySide6.QtCore import QSize

    from app.ui.shell.main_window import FIRST_SIZE
    from app.ui.widgets.screen_fit import FRAME_ALLOWANCE, fitted

    screen = window.screen().availableGeometry()
    assert window.height() + FRAME_ALLOWANCE <= screen.height()
    bar = window.statusBar()
    assert bar.isVisible() and bar.geometry().bottom() < window.height()
    # A 1280×720 display with a 30-pixel task bar: the whole window fits.
    assert fitted(FIRST_SIZE, QSize(1280, 690)).height() + FRAME_ALLOWANCE <= 690
