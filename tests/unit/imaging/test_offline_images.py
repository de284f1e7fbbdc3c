"""Offline patients and their images on one PC: held, matched, moved, synced, hidden."""

from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from app.core import matching
from app.imaging import sealed
from app.imaging.errors import ImagingError
from app.imaging.recovery import RecoveryFolder, safe_name
from app.imaging.sealed import read_plain
from app.platform.files import hash_file
from app.store.errors import StoreError
from app.store.images.images_repo import ImagesRepo
from app.store.images.offline_images_repo import OfflineImagesRepo
from app.store.images.offline_procedures_repo import OfflineProceduresRepo, ProcedureOptions
from app.store.images.offline_recovery_repo import OfflineRecoveryRepo
from app.store.models import Appointment, OutboxMutation, Patient, RecordImage, Upload, Visit
from app.store.patients.provisional_repo import ProvisionalRepo
from app.store.sync.agent_repo import AgentRepo
from tests.unit.imaging import samples

JANE = {"first_name": "Jane", "last_name": "Roe", "gender": "female", "birth_date": "1990-05-06"}


@pytest.fixture
def ask(store) -> OfflineImagesRepo:
    return OfflineImagesRepo(store.db)


@pytest.fixture
def provisional(store) -> ProvisionalRepo:
    return ProvisionalRepo(store.db)


@pytest.fixture
def offline_procs(store, files) -> OfflineProceduresRepo:
    return OfflineProceduresRepo(store.db, files)


@pytest.fixture
def hiding(store, files, tmp_path: Path) -> OfflineRecoveryRepo:
    return OfflineRecoveryRepo(store.db, files, RecoveryFolder(tmp_path / "recovered"))


@pytest.fixture
def offline_jane(store, admin, files, tmp_path: Path):
    """Jane created offline on this PC, with a record of two photos and a loose X-ray."""
    v = admin.viewer()
    jane = store.patients.create(v, JANE, provisional=True)
    images = ImagesRepo(store.db, files)
    visit = store.records.add_visit(v, jane.id, {"visit_date": "2026-11-20", "name": "Pano"})
    images.add_files(v, jane.id, [samples.photo(tmp_path / "a.jpg", seed=1),
                                  samples.photo(tmp_path / "b.jpg", seed=2)], visit_id=visit.id)
    images.add_files(v, jane.id, [samples.dicom_xray(tmp_path / "x.dcm", name="ROE^JANE",
                                                     birth="19900506")])
    store.records.add_appointment(v, jane.id, dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC), 30)
    return jane, visit


def statuses(store) -> dict[str, str]:
    with store.db.read() as s:
        return {u.filename: u.status for u in s.scalars(select(Upload))}


def test_a_provisional_patients_images_are_held_and_listed(
        store, admin, ask, offline_procs, offline_jane, files, tmp_path):
    jane, _visit = offline_jane
    assert set(statuses(store).values()) == {"held"}  # the agent does not take them
    # An ordinary patient's image is queued as usual.
    other = store.patients.create(admin.viewer(), {"first_name": "Al", "gender": "male"})
    ImagesRepo(store.db, files).add_files(admin.viewer(), other.id,
                                          [samples.photo(tmp_path / "al.jpg", seed=9)])
    assert statuses(store)["al.jpg"] == "pending"
    [waiting] = ask.waiting(admin.viewer())
    assert (waiting.id, waiting.name, waiting.images, waiting.procedures) == (
        jane.id, "Jane Roe", 3, 2)
    procs = offline_procs.procedures(admin.viewer(), jane.id)
    assert sorted(len(p.images) for p in procs) == [1, 2]
    assert {p.visit_id is None for p in procs} == {True, False}


def test_candidates_are_same_name_and_birth_first_then_id_or_phone(
        store, admin, provisional, offline_jane):
    jane, _ = offline_jane
    v = admin.viewer()
    store.patients.update(v, jane.id, {**JANE, "mobile": "+1 555 010 2030"})
    same = store.patients.create(v, {"first_name": "JANE ", "last_name": "Röe", "gender": "female",
                                     "birth_date": "1990-05-06"})
    phone = store.patients.create(v, {"first_name": "J.", "last_name": "Roe-Smith",
                                      "gender": "female", "mobile": "15550102030"})
    store.patients.create(v, {"first_name": "Jane", "last_name": "Roe", "gender": "female",
                              "birth_date": "1991-05-06"})  # another birthday: not her
    store.patients.create(v, JANE, provisional=True)  # also offline: not a known patient
    found = provisional.candidates(v, jane.id)
    assert [(m.id, m.reason) for m in found] == [
        (same.id, matching.REASONS[matching.SAME_NAME_AND_BIRTH]),
        (phone.id, matching.REASONS[matching.SAME_PHONE]),
    ]


def test_matching_moves_every_row_to_the_kept_patient_and_syncs_the_move(
        store, admin, ask, provisional, offline_procs, offline_jane, files):
    jane, visit = offline_jane
    v = admin.viewer()
    kept = store.patients.create(v, {**JANE, "mobile": "+1 555 999 0000"})
    procs = offline_procs.procedures(v, jane.id)
    before = {u: s for u, s in statuses(store).items()}
    target, records = provisional.resolve(v, jane.id, kept.id, procs)
    assert target == kept.id
    with store.db.read() as s:
        old = s.get(Patient, jane.id)
        assert old.merged_into == kept.id and not old.provisional
        assert {i.patient_id for i in s.scalars(select(RecordImage))} == {kept.id}
        assert {x.patient_id for x in s.scalars(select(Visit))} == {kept.id}
        assert {a.patient_id for a in s.scalars(select(Appointment))} == {kept.id}
        # The loose X-ray got a record of its own, on the kept patient.
        loose = s.get(Visit, records[None])
        assert loose.name == "Offline images" and loose.patient_id == kept.id
        moved = {(m.entity, m.entity_id) for m in s.scalars(
            select(OutboxMutation).where(OutboxMutation.seq > 0))
            if "patient_id" in m.payload["fields"] or "merged_into" in m.payload["fields"]}
    assert ("patient", jane.id) in moved and ("visit", visit.id) in moved
    assert statuses(store) == before  # still held: the wizard sends procedure by procedure
    # Jane is no longer an offline patient; until the images go, the kept patient waits.
    [waiting] = ask.waiting(v)
    assert (waiting.id, waiting.provisional, waiting.images) == (kept.id, False, 3)
    # The kept patient's page shows every image.
    groups = ImagesRepo(store.db, files).by_record(v, kept.id)
    assert sum(len(g.images) for g in groups) == 3
    with pytest.raises(StoreError):
        provisional.resolve(v, jane.id, None, [])  # already matched into someone


def test_sync_procedure_posts_the_options_releases_the_files_and_wakes_the_agent(
        store, admin, provisional, offline_procs, offline_jane):
    jane, visit = offline_jane
    v = admin.viewer()
    procs = offline_procs.procedures(v, jane.id)
    target, records = provisional.resolve(v, jane.id, None, procs)
    assert target == jane.id  # confirmed as a new patient
    [pano] = [p for p in procs if p.visit_id == visit.id]
    assert offline_procs.procedure_state(pano.shas).status == "held"
    offline_procs.sync_procedure(v, visit.id, pano.shas, ProcedureOptions(
        apply_charges=True, fee=Decimal("45"), bill_insurance=True, provider_id=admin.id))
    with store.db.read() as s:
        rec = s.get(Visit, visit.id)
        assert (rec.charge, rec.bill_insurance, rec.doctor_id) == ("45.00", True, admin.id)
        assert not s.get(Patient, jane.id).provisional
    assert statuses(store)["a.jpg"] == "pending" and statuses(store)["x.dcm"] == "held"
    assert offline_procs.procedure_state(pano.shas).status == "sending"
    assert [r.kind for r in AgentRepo(store.db).take_requests()] == ["sync_now"]
    # Without charges, a zero amount is posted.
    [xray] = [p for p in procs if p.visit_id is None]
    offline_procs.sync_procedure(v, records[None], xray.shas, ProcedureOptions(apply_charges=False,
                                                                      fee=4500))
    with store.db.write() as s:
        assert s.get(Visit, records[None]).charge == "0.00"
        for u in s.scalars(select(Upload)):
            u.status = "done" if u.filename != "x.dcm" else "failed"
            u.last_error = "the server refused the file: too large"
    assert offline_procs.procedure_state(pano.shas).status == "done"
    state = offline_procs.procedure_state(xray.shas)
    assert (state.status, state.reason) == ("failed", "the server refused the file: too large")


def test_hiding_keeps_checked_copies_in_the_recovery_folder_and_they_can_be_filed_again(
        store, admin, provisional, offline_procs, hiding, offline_jane, files):
    jane, visit = offline_jane
    v = admin.viewer()
    procs = offline_procs.procedures(v, jane.id)
    provisional.resolve(v, jane.id, None, procs)
    [pano] = [p for p in procs if p.visit_id == visit.id]
    folder = hiding.hide_procedure(v, pano, "Jane Roe")
    # Named by the record's date and id, never by the patient; sealed like the store.
    assert folder.name == f"{visit.visit_date} record {visit.id[:8]}"
    kept = sorted(f for f in folder.iterdir() if not f.name.startswith("."))
    assert [f.name for f in kept] == ["a.jpg", "b.jpg"]
    assert {sealed.hash_plain(f)[0] for f in kept} == {i.sha256 for i in pano.images}
    assert not {hash_file(f)[0] for f in kept} & {i.sha256 for i in pano.images}
    for f in folder.iterdir():
        raw = f.read_bytes()
        assert sealed.is_sealed(f) and b"Jane" not in raw and b"Roe" not in raw
    assert read_plain(kept[0]) == files.read_bytes(pano.images[0].sha256)
    with store.db.read() as s:
        assert all(i.deleted for i in s.scalars(select(RecordImage).where(
            RecordImage.visit_id == visit.id)))
        assert not set(s.scalars(select(Upload.sha256))) & set(pano.shas)
    assert [p.visit_id for p in offline_procs.procedures(v, jane.id)] != [visit.id]
    # Later, a person files the recovered images in a record; the folder empties.
    [entry] = hiding.recovery.sets()
    assert entry.label.startswith("Jane Roe")
    report = ImagesRepo(store.db, files).add_files(v, jane.id, entry.files, visit_id=visit.id)
    assert len(report.added) == 2 and not report.failed
    hiding.recovery.forget(entry, entry.files)
    assert hiding.recovery.sets() == [] and not folder.exists()
    assert statuses(store)["a.jpg"] == "pending"  # no longer provisional: queued as usual


def test_hiding_leaves_the_upload_of_content_another_record_still_shows(
        store, admin, offline_procs, hiding, offline_jane, files, tmp_path):
    jane, visit = offline_jane
    v = admin.viewer()
    # The same photo was also filed in another record.
    again = store.records.add_visit(v, jane.id, {"visit_date": "2026-11-21", "name": "Again"})
    ImagesRepo(store.db, files).add_files(v, jane.id, [tmp_path / "a.jpg"], visit_id=again.id)
    [pano] = [p for p in offline_procs.procedures(v, jane.id) if p.visit_id == visit.id]
    hiding.hide_procedure(v, pano, "Jane Roe")
    assert statuses(store).get("a.jpg") == "held" and "b.jpg" not in statuses(store)


def test_a_damaged_stored_file_is_not_hidden_and_nothing_is_taken_out(
        store, admin, offline_procs, hiding, offline_jane, files):
    jane, visit = offline_jane
    v = admin.viewer()
    [pano] = [p for p in offline_procs.procedures(v, jane.id) if p.visit_id == visit.id]
    stored = files.path_of(pano.images[0].sha256)
    stored.chmod(0o644)
    stored.write_bytes(b"not the photo any more")
    # A copy cut off long ago (the program was killed) is cleared on the next hide.
    stale = hiding.recovery.root / ".incoming-old"
    stale.mkdir(parents=True)
    (stale / "half.jpg").write_bytes(b"half")
    os.utime(stale, (0, 0))
    with pytest.raises(ImagingError, match="damaged"):
        hiding.hide_procedure(v, pano, "Jane Roe")
    assert hiding.recovery.sets() == [] and not stale.exists()
    assert not any(p.name.startswith(".incoming") for p in hiding.recovery.root.iterdir())
    with store.db.read() as s:
        assert not any(i.deleted for i in s.scalars(select(RecordImage)))


def test_remind_me_later_is_for_the_rest_of_the_day_on_this_pc(
        store, admin, ask, offline_jane):
    v = admin.viewer()
    today = dt.date(2026, 11, 25)
    assert ask.should_offer(v, today)
    ask.remind_later(today)
    assert not ask.should_offer(v, today)
    assert ask.should_offer(v, today + dt.timedelta(days=1))


def test_working_offline_only_when_a_server_is_set_up_and_unreachable(store):
    assert not store.provisional.working_offline()  # no server: an ordinary local practice
    store.settings.set("server_url", "http://127.0.0.1:9")
    assert store.provisional.working_offline()  # no agent online
    AgentRepo(store.db).publish(online=True)
    assert not store.provisional.working_offline()


@pytest.mark.parametrize("name, expected", [
    ("../../etc/passwd", "etc passwd"), ("a\x00b.jpg", "a b.jpg"), ("..", "image"),
    ("<script>alert(1)</script>.png", "script alert(1) script .png"), ("  ", "image"),
])
def test_recovery_names_stay_inside_the_folder(name, expected):
    assert safe_name(name) == expected


def test_sets_kept_before_encryption_are_sealed_and_lose_the_patients_name(
        store, admin, offline_procs, hiding, offline_jane, files, tmp_path):
    from app.imaging import recovery

    jane, visit = offline_jane
    v = admin.viewer()
    [pano] = [p for p in offline_procs.procedures(v, jane.id) if p.visit_id == visit.id]
    new = hiding.hide_procedure(v, pano, "Jane Roe")  # already sealed: left as it is
    old = hiding.recovery.root / "Jane Roe 2026-01-05"  # as an older version kept them
    old.mkdir()
    photo = (tmp_path / "a.jpg").read_bytes()
    (old / "a.jpg").write_bytes(photo)
    (old / ".a.jpg.part").write_bytes(photo[:100])  # a copy cut off by a crash
    assert recovery.seal_plain(hiding.recovery.root, files.key) == 1
    assert recovery.seal_plain(hiding.recovery.root, files.key) == 0  # done once
    assert not old.exists() and new.exists()
    [moved] = [d for d in hiding.recovery.root.iterdir()
               if d.name.startswith(recovery.LEGACY)]
    for f in moved.iterdir():
        assert sealed.is_sealed(f) and b"Jane" not in f.read_bytes()
    assert read_plain(moved / "a.jpg") == photo
    entry = next(e for e in hiding.recovery.sets() if e.path == moved)
    assert entry.label == "Jane Roe 2026-01-05"  # the dialog still says whose
    report = ImagesRepo(store.db, files).add_files(v, jane.id, entry.files, visit_id=visit.id)
    assert len(report.added) == 1 and not report.failed
