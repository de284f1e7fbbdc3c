"""Data migration from one clinic to another against the real cloud process: the
receiving clinic's administrator generates a verification code, the sending one enters
it; a wrong, a used and an expired code are refused in words; a move that fails or
whose server is killed part-way leaves both clinics as they were; a move that succeeds
takes every patient with records, images, scan tickets and cases, and the receiving
PC shows them after a sync while the sending PC no longer does."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, func, select, update
from sqlalchemy.orm import Session

from app.platform.secrets import SecretStore
from app.store.dto import PatientFilter
from app.store.images.images_repo import ImagesRepo
from app.store.models import OutboxMutation
from cloud.institutions.migration_job import MOVED_ENTITIES
from cloud.institutions.migration_models import MigrationCode
from cloud.models import Image, Installation, Record
from cloud.portal.models import AuditEntry
from sync_agent import connection
from sync_agent.institution_service import InstitutionRefused, Institutions
from sync_agent.migration_service import Migrations, MigrationView
from tests.conftest import _KEYRING
from tests.integration.agent.conftest import PC
from tests.integration.cloud.conftest import Server, start_server, stop_server
from tests.unit.imaging import samples

ENV = {"CHAIRSIDE_CLOUD_JOB_MODULES": "tests.support.migration_faults",
       "CHAIRSIDE_CLOUD_JOB_POLL_S": "0.05", "CHAIRSIDE_CLOUD_JOB_LEASE_S": "2",
       "DATABASE_URL": ""}


@pytest.fixture
def faults(tmp_path: Path) -> Path:
    return tmp_path / "faults"


@pytest.fixture
def cloud(tmp_path: Path, faults: Path) -> Iterator[Server]:
    srv = start_server(tmp_path / "cloud", {**ENV, "CHAIRSIDE_TEST_MIGRATION_FAULTS": str(faults)})
    yield srv
    stop_server(srv)


def _db(cloud: Server) -> str:
    return f"sqlite:///{(cloud.data / 'cloud.sqlite3').as_posix()}"


def _migrations(pc: PC) -> Migrations:
    return Migrations(pc.store.db, SecretStore(_KEYRING), pc.admin.id)


def _clinic_code(pc: PC) -> str:
    return Institutions(pc.store.db, SecretStore(_KEYRING), pc.admin.id).show().code


def _iid(pc: PC) -> str:
    conn = connection.load(pc.store.db, SecretStore(_KEYRING))
    assert conn is not None
    return conn.installation_id


def _ended(pc: PC, wait_for: Callable[[float], object]) -> MigrationView:
    for _ in range(600):
        [latest, *_older] = _migrations(pc).listing()
        if not latest.under_way:
            return latest
        wait_for(0.1)
    raise AssertionError("the migration did not end")


def _with_data(pc: PC, tmp_path: Path) -> dict[str, str]:
    """Two patients with a visit each; one with an STL scan and a photo, a scan ticket
    and a lab case; all synced. Their images' SHA-256 by file name."""
    v = pc.admin.viewer()
    nadia = pc.store.patients.create(v, {"first_name": "Nadia", "last_name": "Khoury"})
    omar = pc.store.patients.create(v, {"first_name": "Omar", "last_name": "Haddad"})
    for p in (nadia, omar):
        pc.store.records.add_visit(v, p.id, {"visit_date": "2026-11-02", "name": "Check-up"})
    stl = tmp_path / "upper.stl"
    stl.write_bytes(b"solid upper\nendsolid upper\n" * 50)
    photo = samples.photo(tmp_path / "smile.jpg", size=(160, 120))
    report = ImagesRepo(pc.store.db).add_files(v, nadia.id, [stl, photo], new_record="Scan")
    assert report.failed == []
    pc.store.tickets.create(v, nadia.id, {"scan_type": "intraoral", "status": "open",
                                          "note": "Upper jaw"})
    pc.store.cases.create(v, nadia.id, {"lab_code": "L0000001", "lab_name": "Bright Lab",
                                        "case_type": "Crown",
                                        "image_ids": [i.id for i in report.added]})
    pc.sync()
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in (stl, photo)}


def _rows(db_url: str, iid: str) -> set[str]:
    """The ids of the patient-bound rows an installation holds on the cloud."""
    engine = create_engine(db_url)
    with Session(engine) as s:
        ids = set(s.scalars(select(Record.entity_id).where(
            Record.installation_id == iid, Record.entity.in_(MOVED_ENTITIES))))
    engine.dispose()
    return ids


def _state(db_url: str, *iids: str) -> tuple[object, ...]:
    """What a move changes: each installation's rows, images and change-log counter."""
    engine = create_engine(db_url)
    with Session(engine) as s:
        out = tuple((frozenset(_rows(db_url, i)),
                     s.scalar(select(func.count()).select_from(Image).where(
                         Image.installation_id == i)),
                     s.scalar(select(Installation.last_seq).where(Installation.id == i)))
                    for i in iids)
    engine.dispose()
    return out


def _names(pc: PC) -> set[str]:
    rows = pc.store.patients.search(pc.admin.viewer(), PatientFilter())
    return {f"{r.first_name} {r.last_name}" for r in rows}


def test_codes_refused_then_every_row_and_image_moves(clinic, cloud, tmp_path, qtbot) -> None:
    [sender] = clinic(1)
    [receiver] = clinic(1)
    shas = _with_data(sender, tmp_path)
    receiver_code = _clinic_code(receiver)
    _clinic_code(sender)
    db_url = _db(cloud)
    before = _rows(db_url, _iid(sender))
    assert len(before) >= 9  # patients, visits, images, a ticket and a case

    code = _migrations(receiver).new_code()
    assert len(code.code) == 11  # XXXXX-XXXXX, shown once
    send = _migrations(sender)
    with pytest.raises(InstitutionRefused, match="verification code is not right"):
        send.start(receiver_code, "ABCDE-FGHJK")
    with pytest.raises(InstitutionRefused, match="same institution"):
        send.start(_clinic_code(sender), code.code)
    started = send.start(receiver_code, code.code.lower())  # typed in small letters
    assert started.status_words in ("Queued", "Running")
    done = _ended(sender, qtbot.wait)
    assert (done.status_words, done.reason) == ("Succeeded", "")
    assert done.moved == len(before) and done.images == 2
    with pytest.raises(InstitutionRefused, match="used already"):
        send.start(receiver_code, code.code)

    late = _migrations(receiver).new_code()
    engine = create_engine(db_url)
    with Session(engine) as s, s.begin():
        s.execute(update(MigrationCode).where(MigrationCode.used_at.is_(None)).values(
            expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)))
    with pytest.raises(InstitutionRefused, match="expired"):
        send.start(receiver_code, late.code)
    with Session(engine) as s:
        actions = [a for a, in s.execute(select(AuditEntry.action).where(
            AuditEntry.action.like("migration%")))]
        stored = list(s.scalars(select(MigrationCode.code_hash)))
    engine.dispose()
    assert actions.count("migration_code_generated") == 2
    assert {"migration_started", "migration_succeeded", "migration_refused"} <= set(actions)
    assert code.code.replace("-", "") not in " ".join(stored)  # only a hash is kept

    assert _rows(db_url, _iid(sender)) == set()
    assert _rows(db_url, _iid(receiver)) == before
    receiver.sync()
    assert _names(receiver) == {"Nadia Khoury", "Omar Haddad"}
    vr = receiver.admin.viewer()
    nadia = next(r for r in receiver.store.patients.search(vr, PatientFilter())
                 if r.first_name == "Nadia")
    assert [t.note for t in receiver.store.tickets.for_patient(vr, nadia.id)] == ["Upper jaw"]
    [case] = receiver.store.cases.for_patient(vr, nadia.id)
    assert case.case_type == "Crown" and len(case.image_ids) == 2
    filed = {i.sha256 for r in ImagesRepo(receiver.store.db).by_record(vr, nadia.id)
             for i in r.images}
    assert filed == set(shas.values())
    # The bytes were not copied: the receiver's PCs fetch them under their own token,
    # the sender's no longer can.
    for sha in shas.values():
        assert hashlib.sha256(_fetch(cloud, receiver, sha)).hexdigest() == sha
        assert _fetch(cloud, sender, sha, 404) == b""

    # An edit made on the sending PC before it heard of the move is refused in words.
    vs = sender.admin.viewer()
    omar = next(r for r in sender.store.patients.search(vs, PatientFilter())
                if r.first_name == "Omar")
    sender.store.patients.update(vs, omar.id, {"mobile": "+33 6 12 34 56 78"})
    sender.sync()
    assert _names(sender) == set()
    assert sender.repo.outbox_counts() == (0, 1)
    with sender.store.db.read() as s:
        [said] = s.scalars(select(OutboxMutation.last_error).where(
            OutboxMutation.status == "failed"))
    assert "moved to another clinic" in said

    # And back: the first clinic's PC, which holds the rows as deleted, shows them again.
    home = _migrations(sender).new_code()
    _migrations(receiver).start(_clinic_code(sender), home.code)
    assert _ended(receiver, qtbot.wait).status_words == "Succeeded"
    sender.sync()
    receiver.sync()
    assert _names(sender) == {"Nadia Khoury", "Omar Haddad"} and _names(receiver) == set()
    assert _rows(db_url, _iid(sender)) == before


def _fetch(cloud: Server, pc: PC, sha: str, status: int = 200) -> bytes:
    conn = connection.load(pc.store.db, SecretStore(_KEYRING))
    assert conn is not None
    client = conn.client()
    got = httpx.get(f"{cloud.url}/api/v1/images/{sha}", timeout=30,
                    headers={"Authorization": f"Bearer {client.token}"})
    assert got.status_code == status, got.text
    return got.content if status == 200 else b""


@dataclass
class _Pair:
    """A clinic with two patients and their images, about to move to an empty one."""
    sender: PC
    receiver: PC
    receiver_code: str
    db_url: str
    iids: tuple[str, str]
    before: object  # both clinics' rows on the cloud before the move


def _pair(clinic, cloud: Server, tmp_path: Path) -> _Pair:
    [sender] = clinic(1)
    [receiver] = clinic(1)
    _with_data(sender, tmp_path)
    receiver_code = _clinic_code(receiver)
    _clinic_code(sender)
    db_url = _db(cloud)
    iids = (_iid(sender), _iid(receiver))
    return _Pair(sender, receiver, receiver_code, db_url, iids, _state(db_url, *iids))


def test_a_move_that_fails_part_way_leaves_both_clinics_as_they_were(
        clinic, cloud, tmp_path, faults, qtbot) -> None:
    pair = _pair(clinic, cloud, tmp_path)
    sender, receiver, receiver_code = pair.sender, pair.receiver, pair.receiver_code
    db_url, iids, before = pair.db_url, pair.iids, pair.before
    faults.write_text("fail")
    _migrations(sender).start(receiver_code, _migrations(receiver).new_code().code)
    done = _ended(sender, qtbot.wait)
    assert done.status_words == "Failed" and "nothing was moved" in done.reason
    assert _state(db_url, *iids) == before
    receiver.sync()
    sender.sync()
    assert _names(receiver) == set() and _names(sender) == {"Nadia Khoury", "Omar Haddad"}


def test_a_server_killed_mid_move_changes_nothing_and_the_move_ends_after_restart(
        clinic, cloud, tmp_path, faults, qtbot) -> None:
    pair = _pair(clinic, cloud, tmp_path)
    sender, receiver, receiver_code = pair.sender, pair.receiver, pair.receiver_code
    db_url, iids, before = pair.db_url, pair.iids, pair.before
    moving = _rows(db_url, iids[0])
    faults.write_text("stall")
    _migrations(sender).start(receiver_code, _migrations(receiver).new_code().code)
    qtbot.waitUntil(lambda: faults.read_text() == "stalled", timeout=30_000)
    os.kill(cloud.proc.pid, signal.SIGKILL)
    cloud.proc.wait(10)
    assert _state(db_url, *iids) == before  # rows were written, none committed

    port = int(cloud.url.rsplit(":", 1)[1])
    again = start_server(cloud.data, {**ENV, "CHAIRSIDE_TEST_MIGRATION_FAULTS": str(faults)},
                         port=port)
    cloud.proc = again.proc  # the fixture stops this one
    done = _ended(sender, qtbot.wait)
    assert done.status_words == "Succeeded" and done.moved == len(moving)
    assert _rows(db_url, iids[0]) == set() and _rows(db_url, iids[1]) == moving
    receiver.sync()
    sender.sync()
    assert _names(receiver) == {"Nadia Khoury", "Omar Haddad"} and _names(sender) == set()
