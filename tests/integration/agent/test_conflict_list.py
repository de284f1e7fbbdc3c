"""The conflict list is the cloud's: every PC shows the same conflicts, and a decision
taken on one PC settles the conflict on all (real cloud on loopback, real agents)."""

from __future__ import annotations

from sqlalchemy import select

from app.platform.secrets import SecretStore
from app.store.models import ConflictRecord
from app.store.sync.conflicts_repo import ConflictsRepo
from sync_agent import connection
from tests.conftest import _KEYRING


def open_list(pc) -> list[tuple[str, object, object]]:
    """What the PC's "changes to review" window lists: (key, value now, other value)."""
    return [(r.key, r.kept_value, r.other_value)
            for r in ConflictsRepo(pc.store.db).open(pc.admin.viewer())]


def every_conflict(pc) -> dict[str, str | None]:
    with pc.store.db.read() as s:
        return {c.key: c.resolution for c in s.scalars(select(ConflictRecord))}


def cloud_conflicts(pc) -> dict[str, str | None]:
    client = connection.load(pc.store.db, SecretStore(_KEYRING)).client()
    out: dict[str, str | None] = {}
    cursor = 0
    while True:
        page = client.conflicts(cursor)
        out.update((c["key"], c["resolution"]) for c in page["conflicts"])
        cursor = page["cursor"]
        if not page["more"]:
            return out


def sync_all(pcs, rounds: int = 2) -> None:
    for _ in range(rounds):
        for pc in pcs:
            pc.sync()


def test_three_pcs_and_the_cloud_list_the_same_conflicts(clinic) -> None:
    a, b, c = clinic(3)
    p = a.store.patients.create(a.admin.viewer(), {"first_name": "Lea", "last_name": "Roth"})
    sync_all([a, b, c], rounds=1)
    # All three offline change the same note, one after the other.
    for pc, note in ((a, "from A"), (b, "from B"), (c, "from C")):
        pc.store.patients.update(pc.admin.viewer(), p.id, {"note": note})
    # C, last to write, sees A's and B's notes arrive after its own: by itself it would
    # find a conflict between A's and its own that neither the cloud nor A and B find.
    sync_all([a, b, c])
    lists = [open_list(pc) for pc in (a, b, c)]
    assert lists[0] == lists[1] == lists[2]
    assert sorted((now, other) for _k, now, other in lists[0]) == [
        ("from B", "from A"), ("from C", "from B")]
    assert set(cloud_conflicts(a)) == {k for k, _n, _o in lists[0]}
    assert every_conflict(a) == every_conflict(b) == every_conflict(c)

    # On A the first is dismissed, on B the other one kept: after a sync, gone everywhere.
    first, second = lists[0]
    ConflictsRepo(a.store.db).dismiss(a.admin.viewer(), first[0])
    ConflictsRepo(b.store.db).resolve(b.admin.viewer(), second[0], use_other=False)
    assert open_list(a) == [second] and open_list(b) == [first]
    sync_all([a, b, c])
    assert [open_list(pc) for pc in (a, b, c)] == [[], [], []]
    decided = {first[0]: "dismissed", second[0]: "kept"}
    assert every_conflict(a) == every_conflict(b) == every_conflict(c) == decided
    assert cloud_conflicts(c) == decided
    assert {a.store.patients.get(pc.admin.viewer(), p.id).get("note") for pc in (a, b, c)} \
        == {"from C"}


def test_two_decisions_on_one_conflict_settle_as_the_first_to_arrive(clinic) -> None:
    a, b = clinic(2)
    p = a.store.patients.create(a.admin.viewer(), {"first_name": "Ivo", "last_name": "Kos"})
    sync_all([a, b], rounds=1)
    a.store.patients.update(a.admin.viewer(), p.id, {"allergies": "Latex"})
    b.store.patients.update(b.admin.viewer(), p.id, {"allergies": "Penicillin"})
    sync_all([a, b])
    [(key, now, other)] = open_list(a)
    assert open_list(b) == [(key, now, other)] and (now, other) == ("Penicillin", "Latex")
    # Both PCs decide while apart; A's decision reaches the cloud first.
    ConflictsRepo(a.store.db).resolve(a.admin.viewer(), key, use_other=True)
    ConflictsRepo(b.store.db).dismiss(b.admin.viewer(), key)
    sync_all([a, b])
    assert every_conflict(a) == every_conflict(b) == cloud_conflicts(a) == {key: "other"}
    assert b.store.patients.get(b.admin.viewer(), p.id).get("allergies") == "Latex"


def test_both_windows_show_the_one_conflict_and_a_choice_on_one_clears_both(
        clinic, qtbot) -> None:
    from app.ui.shell.context import AppContext
    from app.ui.shell.main_window import MainWindow
    from app.ui.shell.ops import OpRunner
    from app.ui.sync.conflicts_dialog import ConflictsDialog

    a, b = clinic(2)
    p = a.store.patients.create(a.admin.viewer(), {"first_name": "Mira", "last_name": "Voss"})
    sync_all([a, b], rounds=1)
    a.store.patients.update(a.admin.viewer(), p.id, {"allergies": "Latex"})
    b.store.patients.update(b.admin.viewer(), p.id, {"allergies": "Penicillin"})
    sync_all([a, b])

    dialogs, runners = [], []
    for pc in (a, b):
        ops = OpRunner()
        runners.append(ops)
        window = MainWindow(AppContext(pc.store, pc.admin, ops))
        qtbot.addWidget(window)
        window.show()
        window.show_conflicts()
        qtbot.waitUntil(lambda w=window: any(
            d.isVisible() for d in w.findChildren(ConflictsDialog)))
        dialogs.append(next(d for d in window.findChildren(ConflictsDialog) if d.isVisible()))
    try:
        for dialog in dialogs:
            qtbot.waitUntil(lambda d=dialog: d.model.rowCount() == 1)
        shown = [[dialog.model.index(0, col).data() for col in (0, 1, 2, 4)]
                 for dialog in dialogs]
        assert shown == [["Mira Voss", "Allergies", "Penicillin", "Latex"]] * 2

        dialogs[0].other.click()  # on PC 1: the value that lost was right
        qtbot.waitUntil(lambda: dialogs[0].empty.isVisible())
        assert dialogs[1].model.rowCount() == 1  # PC 2 has not heard of it yet
        sync_all([a, b])
        qtbot.waitUntil(lambda: dialogs[1].empty.isVisible(), timeout=10_000)
        assert dialogs[1].model.rowCount() == 0
        assert b.store.patients.get(b.admin.viewer(), p.id).get("allergies") == "Latex"
    finally:
        for ops in runners:
            ops.wait_idle()
            ops.shutdown()


def test_the_conflict_list_comes_with_the_changes(clinic, monkeypatch) -> None:
    """A PC learns the conflicts from its pull's last page: no request of its own."""
    from sync_agent.client import CloudClient

    a, b = clinic(2)
    p = a.store.patients.create(a.admin.viewer(), {"first_name": "Ida", "last_name": "Berg"})
    sync_all([a, b], rounds=1)
    for pc, note in ((a, "from A"), (b, "from B")):
        pc.store.patients.update(pc.admin.viewer(), p.id, {"note": note})

    def no_list(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the conflict list was asked for on its own")

    monkeypatch.setattr(CloudClient, "conflicts", no_list)
    sync_all([a, b])
    assert open_list(a) == open_list(b) == [(open_list(a)[0][0], "from B", "from A")]
