"""Scan tickets through the window: made from the patient list, the patient's page and
the new-patient form; listed on the page, marked scanned or cancelled."""

from __future__ import annotations

from PySide6.QtCore import Qt

from app.store.images.images_repo import ImagesRepo
from app.ui.cases.ticket_dialog import TicketDialog
from tests.gui.patients.test_front_desk import fill, open_new_patient, shown
from tests.unit.imaging import samples


def ticket_texts(page) -> list[tuple[str, ...]]:
    model = page.tickets.model
    return [
        tuple(model.index(r, c).data() for c in range(1, model.columnCount()))
        for r in range(model.rowCount())
    ]


def create(window, qtbot, *, face: bool, case_type: str, visit_type: str, note: str) -> None:
    qtbot.waitUntil(lambda: shown(window, TicketDialog) is not None)
    dialog = shown(window, TicketDialog)
    qtbot.waitUntil(lambda: dialog.doctor.count() > 1)
    if face:
        qtbot.mouseClick(dialog.face, Qt.MouseButton.LeftButton)
    dialog.case_type.setEditText(case_type)
    dialog.visit_type.setEditText(visit_type)
    qtbot.keyClicks(dialog.note, note)
    qtbot.mouseClick(dialog.create_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: shown(window, TicketDialog) is None)


def test_tickets_from_the_list_the_page_and_their_status(window, qtbot, ctx) -> None:
    p = ctx.store.patients.create(ctx.viewer, {"first_name": "Omar", "last_name": "Nasser"})
    lst = window.patient_list
    lst.reload()
    qtbot.waitUntil(lambda: lst.model.rowCount() == 1)
    assert not lst.ticket.isEnabled()  # nobody chosen yet
    # The row's context menu offers the ticket (and selects the row it was opened on).
    rect = lst.table.visualRect(lst.model.index(0, 0))
    lst._context_menu(rect.center())
    [action] = [a for a in lst.menu.actions() if a.text() == "Create scan ticket…"]
    assert lst.ticket.isEnabled()
    lst.menu.close()
    action.trigger()
    create(window, qtbot, face=False, case_type="Orthodontics", visit_type="First visit",
           note="Upper and lower jaw")
    window.open_patient(p.id)
    page = window.patient_page
    qtbot.waitUntil(lambda: page.title.text() == "Omar Nasser")
    page.tabs.setCurrentWidget(page.tickets)
    qtbot.waitUntil(lambda: page.tickets.model.rowCount() == 1)
    name = ctx.user.display_name
    assert ticket_texts(page) == [
        ("Intraoral scan", "Orthodontics", "First visit", name, "Open", "",
         "Upper and lower jaw"),
    ]
    # A second one from the page's own button.
    qtbot.mouseClick(page.new_ticket, Qt.MouseButton.LeftButton)
    create(window, qtbot, face=True, case_type="Implant", visit_type="Follow-up",
           note="Smile")
    qtbot.waitUntil(lambda: page.tickets.model.rowCount() == 2)
    assert sorted(t[0] for t in ticket_texts(page)) == ["Face scan", "Intraoral scan"]
    # Mark one scanned, cancel the other; a closed ticket offers no more changes.
    tab = page.tickets
    tab.table.selectRow(0)
    first = tab.current()
    assert tab.scanned.isEnabled() and tab.cancel.isEnabled()
    qtbot.mouseClick(tab.scanned, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: ctx.store.tickets.for_patient(ctx.viewer, p.id)[0].status
                    == "scanned")
    qtbot.waitUntil(lambda: "Scanned" in [t[4] for t in ticket_texts(page)])
    row = next(i for i in range(2) if tab.model.row_at(i).id != first.id)
    tab.table.selectRow(row)
    qtbot.mouseClick(tab.cancel, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: sorted(t[4] for t in ticket_texts(page)) == ["Cancelled", "Scanned"])
    tab.table.selectRow(0)
    assert not tab.scanned.isEnabled() and not tab.cancel.isEnabled()


def test_new_patient_with_a_scan_ticket(window, qtbot, ctx) -> None:
    dialog = open_new_patient(window, qtbot)
    fill(dialog, qtbot, first_name="Lina", last_name="Saad")
    assert dialog.with_ticket.isVisible()
    dialog.with_ticket.setChecked(True)
    dialog.buttons.button(dialog.buttons.StandardButton.Save).click()
    create(window, qtbot, face=True, case_type="Aligners", visit_type="First visit",
           note="")
    page = window.patient_page
    qtbot.waitUntil(lambda: page.title.text() == "Lina Saad")
    qtbot.waitUntil(lambda: page.tickets.model.rowCount() == 1)
    assert ticket_texts(page)[0][:2] == ("Face scan", "Aligners")
    assert ticket_texts(page)[0][4] == "Open"


def test_case_from_the_list_says_when_no_lab_can_be_listed(window, qtbot, ctx) -> None:
    ctx.store.patients.create(ctx.viewer, {"first_name": "Omar", "last_name": "Nasser"})
    lst = window.patient_list
    lst.reload()
    qtbot.waitUntil(lambda: lst.model.rowCount() == 1)
    lst._context_menu(lst.table.visualRect(lst.model.index(0, 0)).center())
    [action] = [a for a in lst.menu.actions() if a.text() == "Create case…"]
    lst.menu.close()
    action.trigger()
    dialog = lst.case_dialog
    assert dialog.windowTitle() == "Create case"
    # This PC was never connected to a server: nothing to choose, and why.
    qtbot.waitUntil(lambda: dialog.error.isVisible())
    assert "not connected to the server yet" in dialog.error.text()
    assert dialog.lab.placeholderText() == "No lab to choose"
    assert not dialog.create_button.isEnabled()
    dialog.reject()


def test_marking_scanned_links_the_scans_filed_for_the_ticket(window, qtbot, ctx,
                                                             tmp_path) -> None:
    p = ctx.store.patients.create(ctx.viewer, {"first_name": "Lina", "last_name": "Saad"})
    stl = samples.stl_ascii(tmp_path / "upper.stl")
    report = ImagesRepo(ctx.store.db).add_files(ctx.viewer, p.id, [stl], new_record="Scan")
    [scan] = report.added
    assert scan.kind == "intraoral_scan"
    ctx.store.tickets.create(ctx.viewer, p.id, {"scan_type": "intraoral"})
    window.open_patient(p.id)
    page = window.patient_page
    page.tabs.setCurrentWidget(page.tickets)
    tab = page.tickets
    qtbot.waitUntil(lambda: tab.model.rowCount() == 1)
    tab.table.selectRow(0)
    qtbot.mouseClick(tab.scanned, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.link_dialog is not None and tab.link_dialog.isVisible())
    assert tab.link_dialog.linked() == [scan.id]  # the newest record's scans, ticked
    qtbot.mouseClick(tab.link_dialog.ok, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: ticket_texts(page)[0][4:6] == ("Scanned", "1"))
    [done] = ctx.store.tickets.for_patient(ctx.viewer, p.id)
    assert done.image_ids == (scan.id,)
