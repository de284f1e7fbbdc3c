"""Database synchronization finds what differs and repairs only that."""

from __future__ import annotations

from sqlalchemy import text

from sync_agent import connection
from sync_agent.reconcile_job import reconcile


def test_in_sync_replicas_need_no_repair(clinic) -> None:
    (a,) = clinic(1)
    for i in range(30):
        a.store.patients.create(a.admin.viewer(), {"first_name": f"P{i}", "last_name": "X"})
    a.sync()
    report = reconcile(a.store.db, connection.load(a.store.db, a.agent.secrets).client())
    assert report.describe() == "The server's copy matches this computer's: nothing to repair."
    assert report.checked["patient"] == 30


def test_lost_rows_are_found_and_repaired_in_both_directions(clinic) -> None:
    a, b = clinic(2)
    v = a.admin.viewer()
    made = [
        a.store.patients.create(v, {"first_name": f"P{i:03}", "last_name": "Y"}) for i in range(450)
    ]
    a.sync()
    b.sync()
    # A row the cloud never got: its mutation was lost from a's outbox (an old bug, a
    # restored backup).
    lost = a.store.patients.create(v, {"first_name": "Lost", "last_name": "Upload"})
    with a.store.db.writer.begin() as conn:
        conn.execute(text("DELETE FROM outbox"))
    # And a row b never applied: it vanished from b's database.
    gone = made[123].id
    with b.store.db.writer.begin() as conn:
        conn.execute(
            text("DELETE FROM patient_terms WHERE num = (SELECT num FROM patients WHERE id = :i)"),
            {"i": gone},
        )
        conn.execute(text("DELETE FROM patients WHERE id = :i"), {"i": gone})
    ra = reconcile(a.store.db, connection.load(a.store.db, a.agent.secrets).client())
    assert ra.sent == {"patient": 1} and ra.fetched == {}
    rb = reconcile(b.store.db, connection.load(b.store.db, b.agent.secrets).client())
    assert rb.fetched == {"patient": 2} and rb.sent == {}
    assert "2 brought from it" in rb.describe()
    assert b.store.patients.get(b.admin.viewer(), gone).get("first_name") == "P123"
    assert b.store.patients.get(b.admin.viewer(), lost.id).get("first_name") == "Lost"
    # Narrowed down: far fewer ranges looked at than rows.
    assert rb.ranges < 20
    again = reconcile(b.store.db, connection.load(b.store.db, b.agent.secrets).client())
    assert again.sent == {} and again.fetched == {}
