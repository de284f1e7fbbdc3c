"""The patient list as the front desk reads it: filters, columns, keyboard."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt

from tests.gui.patients.test_front_desk import type_search, visible_names


def test_case_type_filter_finds_a_patient_with_it_among_several(window, qtbot, ctx) -> None:
    v = ctx.viewer
    ctx.store.patients.create(v, {"first_name": "Ana", "last_name": "Lima",
                                  "case_types": "Orthodontics, Implant"})
    ctx.store.patients.create(v, {"first_name": "Rui", "last_name": "Sousa",
                                  "case_types": "implant ,whitening"})
    ctx.store.patients.create(v, {"first_name": "Zoe", "last_name": "Reis",
                                  "case_types": "Implant"})
    lst = window.patient_list
    lst.refresh_case_types()
    lst.reload()
    qtbot.waitUntil(lambda: lst.case_type.count() > 1)
    # One entry per type, whatever the case it was typed in.
    types = [lst.case_type.itemText(i).casefold() for i in range(1, lst.case_type.count())]
    assert types == ["implant", "orthodontics", "whitening"]
    lst.case_type.setCurrentIndex(1)
    qtbot.waitUntil(lambda: visible_names(window) == ["Ana Lima", "Zoe Reis", "Rui Sousa"])
    lst.case_type.setCurrentIndex(lst.case_type.findText("whitening"))
    qtbot.waitUntil(lambda: visible_names(window) == ["Rui Sousa"])
    qtbot.waitUntil(lambda: lst.count.text() == "1 patient")


def header_text(window) -> list[str]:
    model = window.patient_list.model
    return [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]


def test_columns_fit_their_content_and_phones_read_well(window, qtbot, ctx) -> None:
    ctx.store.patients.create(ctx.viewer, {
        "first_name": "Maria Fernanda", "last_name": "de Souza Albuquerque",
        "birth_date": "1980-04-02", "mobile": "+961 3 123 456",
        "email": "maria.fernanda.albuquerque@example.com", "card_number": "C-12"})
    ctx.store.patients.create(ctx.viewer, {
        "first_name": "Tom", "last_name": "Lee", "mobile": "00447700900111"})
    window.resize(1280, 720)
    lst = window.patient_list
    lst.reload()
    qtbot.waitUntil(lambda: lst.model.rowCount() == 2)
    table, model = lst.table, lst.model
    columns = header_text(window)
    mobile, email, card = (columns.index(n) for n in ("Mobile", "Email", "Card number"))
    assert [model.index(r, mobile).data() for r in range(2)] == [
        "+961 3 123 456", "+44 7700 900 111"]
    qtbot.waitUntil(lambda: table.columnWidth(email) > 100)
    viewport = table.viewport().width()
    for column in range(model.columnCount()):
        texts = [model.index(r, column).data() for r in range(2)]
        widest = max(table.fontMetrics().horizontalAdvance(t) for t in texts)
        # Every value is shown in full, and every column is on screen.
        assert table.columnWidth(column) >= widest, columns[column]
        assert table.columnViewportPosition(column) + table.columnWidth(column) <= viewport
    assert table.columnWidth(card) < 200  # the card number does not take the rest
    assert model.index(0, columns.index("Date of birth (age)")).data().startswith("1980-04-02 (")


def test_sort_arrow_always_shows_the_order_of_the_rows(window, qtbot, ctx) -> None:
    for first, last, born in [("Ana", "Abreu", "1990-01-01"), ("Bia", "Borges", "1970-01-01"),
                              ("Caio", "Castro", "1980-01-01")]:
        ctx.store.patients.create(ctx.viewer, {"first_name": first, "last_name": last,
                                               "birth_date": born})
    lst = window.patient_list
    lst.reload()
    header = lst.table.horizontalHeader()
    qtbot.waitUntil(lambda: visible_names(window) == ["Ana Abreu", "Bia Borges", "Caio Castro"])
    assert (header.sortIndicatorSection(), header.sortIndicatorOrder()) == (
        0, Qt.SortOrder.AscendingOrder)

    def click_header(column: int) -> None:
        x = header.sectionViewportPosition(column) + header.sectionSize(column) // 2
        qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton,
                         pos=QPoint(x, header.height() // 2))

    click_header(header_text(window).index("Gender"))  # the list cannot sort by gender
    assert (header.sortIndicatorSection(), header.sortIndicatorOrder()) == (
        0, Qt.SortOrder.AscendingOrder)
    birth = header_text(window).index("Date of birth (age)")
    click_header(birth)
    assert header.sortIndicatorSection() == birth
    oldest_first = ["Bia Borges", "Caio Castro", "Ana Abreu"]
    expected = (oldest_first if header.sortIndicatorOrder() == Qt.SortOrder.AscendingOrder
                else oldest_first[::-1])
    qtbot.waitUntil(lambda: visible_names(window) == expected)
    click_header(birth)
    qtbot.waitUntil(lambda: visible_names(window) == expected[::-1])


def arrow_points_up(header, column: int) -> bool:
    """Whether the sort arrow drawn at the right of the column's header points up (its
    widest row of dark pixels at the bottom)."""
    image = header.grab().toImage()
    right = header.sectionViewportPosition(column) + header.sectionSize(column)
    rows = []
    for y in range(image.height()):
        dark = [x for x in range(right - 24, right)
                if image.pixelColor(x, y).lightness() < 140]
        if dark:
            rows.append(len(dark))
    assert len(rows) >= 2, "no arrow drawn"
    return rows[-1] > rows[0]


def test_the_arrow_points_up_for_a_to_z_and_down_for_z_to_a(window, qtbot, ctx) -> None:
    for first, last in [("Ana", "Abreu"), ("Bia", "Borges")]:
        ctx.store.patients.create(ctx.viewer, {"first_name": first, "last_name": last})
    lst = window.patient_list
    lst.reload()
    header = lst.table.horizontalHeader()
    qtbot.waitUntil(lambda: visible_names(window) == ["Ana Abreu", "Bia Borges"])
    assert arrow_points_up(header, 0)
    lst.table.sortByColumn(0, Qt.SortOrder.DescendingOrder)
    qtbot.waitUntil(lambda: visible_names(window) == ["Bia Borges", "Ana Abreu"])
    assert not arrow_points_up(header, 0)


def test_down_and_enter_from_the_search_box_open_the_highlighted_patient(
    window, qtbot, ctx
) -> None:
    for first, last in [("Lina", "Saad"), ("Lino", "Sousa"), ("Omar", "Nasser")]:
        ctx.store.patients.create(ctx.viewer, {"first_name": first, "last_name": last})
    window.patient_list.reload()
    type_search(window, qtbot, "lin")
    qtbot.waitUntil(lambda: visible_names(window) == ["Lina Saad", "Lino Sousa"])
    search, table = window.patient_list.search, window.patient_list.table
    qtbot.keyClick(search, Qt.Key.Key_Down)
    assert table.hasFocus() and table.currentIndex().row() == 0
    qtbot.keyClick(table, Qt.Key.Key_Down)
    assert table.currentIndex().row() == 1
    qtbot.keyClick(table, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.patient_page.title.text() == "Lino Sousa")
    # Enter straight from the search box opens the first match.
    type_search(window, qtbot, "omar")
    qtbot.waitUntil(lambda: visible_names(window) == ["Omar Nasser"])
    qtbot.keyClick(search, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.patient_page.title.text() == "Omar Nasser")
