"""Changes travel between the PCs of one clinic through a real cloud on loopback."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from app.core.agent_requests import RequestKind
from app.store.dto import PatientFilter
from app.store.models import ConflictRecord, OutboxMutation


def names(pc, query: str = "") -> list[str]:
    return [
        r.display_name
        for r in pc.store.patients.search(pc.admin.viewer(), PatientFilter(query=query))
    ]


def test_a_patient_and_his_visit_reach_the_other_pc(clinic) -> None:
    a, b = clinic(2)
    p = a.store.patients.create(
        a.admin.viewer(),
        {"first_name": "Yusuf", "last_name": "Demir", "mobile": "+90 532 000 1122"},
    )
    a.store.records.add_visit(
        a.admin.viewer(),
        p.id,
        {"visit_date": "2026-11-20", "amount_paid": Decimal("45"), "procedure": "Filling"},
    )
    assert a.repo.outbox_counts() == (2, 0)
    a.sync()
    assert a.repo.outbox_counts() == (0, 0)
    b.sync()
    assert names(b, "0001122") == ["Yusuf Demir"]
    visits = b.store.records.visits(b.admin.viewer(), p.id)
    assert [(v.visit_date, v.amount_paid, v.procedure) for v in visits] == [
        ("2026-11-20", Decimal("45.00"), "Filling")
    ]
    # Nothing pulled is queued to go back up.
    assert b.repo.outbox_counts() == (0, 0)


def test_concurrent_edits_converge_and_the_loser_is_kept(clinic) -> None:
    a, b = clinic(2)
    p = a.store.patients.create(a.admin.viewer(), {"first_name": "Lea", "last_name": "Roth"})
    a.sync()
    b.sync()
    # Both PCs offline: each changes the note and one other field.
    a.store.patients.update(
        a.admin.viewer(), p.id, {"note": "Prefers mornings", "mobile": "+49 151 1111111"}
    )
    b.store.patients.update(
        b.admin.viewer(), p.id, {"note": "Prefers afternoons", "email": "lea@example.com"}
    )
    a.sync()
    b.sync()
    a.sync()
    pa = a.store.patients.get(a.admin.viewer(), p.id)
    pb = b.store.patients.get(b.admin.viewer(), p.id)
    assert pa.fields == pb.fields
    assert pa.get("mobile") == "+491511111111" and pa.get("email") == "lea@example.com"
    assert pa.get("note") == "Prefers afternoons"  # the later edit wins ...
    with b.store.db.read() as s:
        conflicts = list(s.scalars(select(ConflictRecord)))
    with a.store.db.read() as s:
        conflicts += list(s.scalars(select(ConflictRecord)))
    # ... and the earlier one is kept for review, not dropped.
    assert {(c.field, c.loser_value, c.winner_value) for c in conflicts} == {
        ("note", "Prefers mornings", "Prefers afternoons")
    }


def test_a_successive_edit_is_not_a_conflict(clinic) -> None:
    a, b = clinic(2)
    p = a.store.patients.create(a.admin.viewer(), {"first_name": "Ivo", "last_name": "Kos"})
    a.sync()
    b.sync()
    b.store.patients.update(b.admin.viewer(), p.id, {"note": "first"})
    b.sync()
    a.sync()
    a.store.patients.update(a.admin.viewer(), p.id, {"note": "second"})
    a.sync()
    b.sync()
    assert b.store.patients.get(b.admin.viewer(), p.id).get("note") == "second"
    for pc in (a, b):
        with pc.store.db.read() as s:
            assert list(s.scalars(select(ConflictRecord))) == []


def test_a_refused_mutation_is_marked_failed_with_the_reason_and_the_rest_go(clinic) -> None:
    a, b = clinic(2)
    v = a.admin.viewer()
    a.store.patients.create(v, {"first_name": "Good", "last_name": "One"})
    with a.store.db.write() as s:
        row = s.scalars(select(OutboxMutation)).first()
        bad = dict(row.payload)
        bad["fields"] = {"shoe_size": 44}
        bad["hlc"] = {"shoe_size": row.payload["hlc"]["first_name"]}
        bad["base"] = {}
        bad["id"] = "01900000-0000-7000-8000-0000000000ff"
        s.add(
            OutboxMutation(
                mutation_id=bad["id"],
                entity="patient",
                entity_id=row.entity_id,
                payload=bad,
                created_at=row.created_at,
            )
        )
    a.store.patients.create(v, {"first_name": "Also", "last_name": "Good"})
    a.agent.sync_once(forced=True)
    assert a.repo.outbox_counts() == (0, 1)
    with a.store.db.read() as s:
        failed = s.scalars(select(OutboxMutation).where(OutboxMutation.status == "failed")).one()
    assert "shoe_size" in failed.last_error
    b.sync()
    assert sorted(names(b)) == ["Also Good", "Good One"]


def test_update_all_sends_everything_again_harmlessly(clinic) -> None:
    a, b = clinic(2)
    v = a.admin.viewer()
    for i in range(5):
        p = a.store.patients.create(v, {"first_name": f"P{i}", "last_name": "Test"})
        a.store.records.add_visit(v, p.id, {"visit_date": "2026-01-0" + str(i + 1)})
    a.sync()
    from app.store.sync.sync_repo import queue_everything

    # 5 patients, 5 visits and the practice's two program users.
    assert queue_everything(a.store.db) == 12
    # An edit while the queue waits is not undone by the row queued before it.
    a.store.patients.update(v, p.id, {"last_name": "Edited"})
    a.sync()
    assert a.repo.outbox_counts() == (0, 0)
    b.sync()
    assert sorted(names(b)) == [f"P{i} Test" for i in range(4)] + ["P4 Edited"]
    assert b.store.diary.day(b.admin.viewer(), __import__("datetime").date(2026, 1, 3)).visits


def test_a_choice_in_the_conflict_inbox_syncs_and_settles_it_everywhere(clinic) -> None:
    from app.store.sync.conflicts_repo import ConflictsRepo

    a, b = clinic(2)
    p = a.store.patients.create(a.admin.viewer(), {"first_name": "Mira", "last_name": "Voss"})
    a.sync()
    b.sync()
    a.store.patients.update(a.admin.viewer(), p.id, {"allergies": "Latex"})
    b.store.patients.update(b.admin.viewer(), p.id, {"allergies": "Penicillin"})
    a.sync()
    b.sync()
    a.sync()
    inbox_a, inbox_b = ConflictsRepo(a.store.db), ConflictsRepo(b.store.db)
    rows = inbox_b.open(b.admin.viewer())
    assert [(r.patient_name, r.field, r.kept_value, r.other_value) for r in rows] == [
        ("Mira Voss", "allergies", "Penicillin", "Latex")
    ]
    assert len(inbox_a.open(a.admin.viewer())) == 1
    # On PC b the dentist decides the losing value was right.
    inbox_b.resolve(b.admin.viewer(), rows[0].key, use_other=True)
    assert inbox_b.open(b.admin.viewer()) == []
    b.sync()
    a.sync()
    assert a.store.patients.get(a.admin.viewer(), p.id).get("allergies") == "Latex"
    assert inbox_a.open(a.admin.viewer()) == []
    with a.store.db.read() as s:
        # Settled as B's dentist decided, on every PC.
        assert [c.resolution for c in s.scalars(select(ConflictRecord))] == ["other"]


def test_a_pc_whose_clock_runs_ahead_converges_with_the_cloud(clinic, monkeypatch) -> None:
    """The cloud clamps stamps from the future; the PC adopts the clamped stamps, so a
    database synchronization finds both copies equal."""
    import time

    from app.core import hlc
    from app.store.sync import outbox
    from sync_agent import connection
    from sync_agent.reconcile_job import reconcile

    a, b = clinic(2)
    ahead = lambda: time.time_ns() // 1_000_000 + 3_600_000  # noqa: E731 - an hour fast
    monkeypatch.setattr(
        outbox, "Clock", lambda node, last=None: hlc.Clock(node, last=last, wall=ahead)
    )
    p = a.store.patients.create(a.admin.viewer(), {"first_name": "Fast", "last_name": "Clock"})
    monkeypatch.undo()
    # The clamped stamps come with the push's answer: no request for the record.
    from sync_agent.client import CloudClient

    def no_record(*_args: object) -> None:
        raise AssertionError("the record was asked for")

    monkeypatch.setattr(CloudClient, "record", no_record)
    a.sync()
    b.sync()
    report = reconcile(a.store.db, connection.load(a.store.db, a.agent.secrets).client())
    assert report.sent == {} and report.fetched == {}
    with a.store.db.read() as s:
        from app.store.models import Patient

        stamp = s.get(Patient, p.id).stamps["first_name"][0]
    assert int(stamp[:13]) < time.time() * 1000 + 120_000  # no longer an hour ahead


def test_with_automatic_update_off_changes_wait_for_update_now(clinic) -> None:
    from app.store.sync.agent_repo import AgentRepo

    (a,) = clinic(1)
    a.store.settings.set("automatic_update", False)
    a.store.patients.create(a.admin.viewer(), {"first_name": "Wait", "last_name": "Here"})
    a.agent.sync_once(forced=False)
    assert a.repo.outbox_counts() == (1, 0)
    AgentRepo(a.store.db).request(RequestKind.SYNC_NOW)  # "Update now" in the app
    a.agent.tick()
    assert a.repo.outbox_counts() == (0, 0)


def test_a_request_of_an_unknown_kind_is_refused_and_starts_no_sync(clinic) -> None:
    from app.store.models import AgentRequest
    from app.store.sync.agent_repo import AgentRepo
    from app.store.sync.outbox import utc_now_text

    (a,) = clinic(1)
    a.store.settings.set("automatic_update", False)
    a.store.patients.create(a.admin.viewer(), {"first_name": "Wait", "last_name": "Here"})
    # What a newer app, or someone editing the database, might write.
    with a.store.db.write() as s:
        row = AgentRequest(kind="sync_everything", created_at=utc_now_text())
        s.add(row)
        s.flush()
        request_id = row.id
    a.agent.tick()
    result = AgentRepo(a.store.db).request_done(request_id)
    assert result is not None and result.startswith("refused")
    assert a.repo.outbox_counts() == (1, 0)  # nothing sent: no sync was started


def test_an_upkeep_job_that_fails_is_logged_and_the_sync_goes_on(clinic, caplog) -> None:
    (a,) = clinic(1)
    a.store.patients.create(a.admin.viewer(), {"first_name": "Sent", "last_name": "Anyway"})

    def broken() -> None:
        raise OSError("the acquisition folder's disk failed")

    a.agent.acquisition.prepare = lambda: None  # a pass is due
    a.agent.acquisition.run = broken
    a.agent.tick()
    assert "acquisition: the job failed" in caplog.text
    assert a.repo.outbox_counts() == (0, 0)  # the change went to the cloud all the same
