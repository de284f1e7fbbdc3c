"""A confirmed save survives the process being killed at any moment.

A child process (crash_child.py) saves patients, visits and edits through the store in
a loop and prints a line after each commit returns. It is killed with SIGKILL at random
moments — now and then while it is still starting or migrating — and restarted on the
same file. At the end every confirmed save is in the database, the outbox holds its
mutation, no mutation exists without the change it describes, the search index matches
the patients, and SQLite's integrity check passes.

CHAIRSIDE_CRASH_KILLS sets the number of kills (8 by default; 1000 for a long run):

    CHAIRSIDE_CRASH_KILLS=1000 .venv/bin/pytest tests/integration/test_crash.py
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pytest
from keyring.backends import null
from sqlalchemy import select

from app.core.wire import Mutation
from app.platform.secrets import SecretStore
from app.store.db import Database, open_database
from app.store.models import OutboxMutation, Patient, PatientTerm, SyncState, Visit
from app.store.patients import search_index

ROOT = Path(__file__).resolve().parents[2]
KILLS = int(os.environ.get("CHAIRSIDE_CRASH_KILLS", "8"))
EARLY_KILL_SHARE = 0.2  # kills that land while the child starts, opens or migrates
MAX_LATE_DELAY_S = 0.5


@dataclass
class Confirmed:
    patients: set[str] = field(default_factory=set)
    visits: dict[str, str] = field(default_factory=dict)  # visit id -> patient id
    notes: dict[str, str] = field(default_factory=dict)  # patient id -> note

    def take(self, line: str) -> None:
        parts = line.split()
        if len(parts) < 3 or parts[0] != "confirmed":
            return
        kind = parts[1]
        if kind == "patient":
            self.patients.add(parts[2])
        elif kind == "visit":
            self.visits[parts[2]] = parts[3]
        elif kind == "note":
            self.notes[parts[2]] = parts[3]

    @property
    def saves(self) -> int:
        return len(self.patients) + len(self.visits) + len(self.notes)


class Child:
    """One run of crash_child.py, its stdout read line by line on a thread."""

    def __init__(self, path: Path, seed: int, stderr: IO[bytes]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.integration.crash_child", str(path), str(seed)],
            cwd=ROOT,
            env=dict(os.environ),
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            encoding="utf-8",
        )
        self.lines: list[str] = []
        self.ready = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if not line.endswith("\n"):
                break  # cut off by the kill: not a confirmation
            self.lines.append(line.strip())
            if line.strip() == "ready":
                self.ready.set()

    def kill(self) -> int:
        self.proc.send_signal(signal.SIGKILL)
        code = self.proc.wait(timeout=30)
        self._reader.join(timeout=30)
        return code


def _run_rounds(path: Path, kills: int, stderr_path: Path, rnd: random.Random) -> Confirmed:
    confirmed = Confirmed()
    with stderr_path.open("wb") as stderr:
        for n in range(kills):
            child = Child(path, n, stderr)
            if rnd.random() < EARLY_KILL_SHARE:
                time.sleep(rnd.uniform(0.0, 1.0))
            else:
                assert child.ready.wait(60), _child_failed(child, stderr_path)
                time.sleep(rnd.uniform(0.0, MAX_LATE_DELAY_S))
            code = child.kill()
            assert code == -signal.SIGKILL, _child_failed(child, stderr_path)
            for line in child.lines:
                confirmed.take(line)
    return confirmed


def _child_failed(child: Child, stderr_path: Path) -> str:
    tail = stderr_path.read_text(errors="replace")[-3000:]
    return f"the child stopped on its own (exit {child.proc.returncode}):\n{tail}"


def _outbox(db: Database) -> list[tuple[Mutation, str | None]]:
    with db.read() as s:
        rows = s.execute(
            select(OutboxMutation.payload, OutboxMutation.patient_id).order_by(OutboxMutation.seq)
        ).all()
    return [(Mutation.from_wire(payload), pid) for payload, pid in rows]


def _check_confirmed_saves(db: Database, confirmed: Confirmed) -> None:
    with db.read() as s:
        patients = {p.id: p for p in s.scalars(select(Patient))}
        visits = {v.id: v for v in s.scalars(select(Visit))}
    missing = confirmed.patients - patients.keys()
    assert not missing, f"{len(missing)} confirmed patients are lost"
    for vid, pid in confirmed.visits.items():
        assert vid in visits, f"confirmed visit {vid} is lost"
        assert visits[vid].patient_id == pid
    for pid, note in confirmed.notes.items():
        assert patients[pid].note == note, f"confirmed note of {pid} is lost"
    for p in patients.values():
        assert not p.deleted


def _check_outbox(db: Database, confirmed: Confirmed) -> None:
    muts = _outbox(db)
    created = {m.entity_id for m, _ in muts if "first_name" in m.fields}
    assert confirmed.patients <= created, "a confirmed patient has no mutation"
    visit_muts = {m.entity_id: pid for m, pid in muts if m.entity == "visit"}
    for vid, pid in confirmed.visits.items():
        assert visit_muts.get(vid) == pid, f"confirmed visit {vid} has no mutation"
    note_muts = {(m.entity_id, m.fields.get("note")) for m, _ in muts if "note" in m.fields}
    assert set(confirmed.notes.items()) <= note_muts, "a confirmed edit has no mutation"
    assert len({m.id for m, _ in muts}) == len(muts), "a mutation id was used twice"

    # No mutation without its change: the newest mutation of every field holds the
    # value and the stamp that the row has now; and no row without its mutations.
    newest: dict[tuple[str, str, str], tuple[str, Any]] = {}
    for m, _ in muts:
        for name, value in m.fields.items():
            key = (m.entity, m.entity_id, name)
            if key not in newest or m.hlc[name] > newest[key][0]:
                newest[key] = (m.hlc[name], value)
    by_entity: dict[tuple[str, str], dict[str, tuple[str, Any]]] = defaultdict(dict)
    for (entity, eid, name), stamped in newest.items():
        by_entity[(entity, eid)][name] = stamped
    with db.read() as s:
        rows = {("patient", p.id): p for p in s.scalars(select(Patient))}
        rows.update({("visit", v.id): v for v in s.scalars(select(Visit))})
        last_hlc = s.get(SyncState, 1).last_hlc
    assert set(by_entity) == set(rows), "rows and outbox mutations do not correspond"
    top = ""
    for key, fields in by_entity.items():
        obj = rows[key]
        for name, (stamp, value) in fields.items():
            assert getattr(obj, name) == value, f"{key} {name}: mutation without its change"
            assert obj.stamps[name][0] == stamp, f"{key} {name}: stamp differs from outbox"
            top = max(top, stamp)
    assert last_hlc is not None and last_hlc >= top, "the clock went back after a crash"


def _check_search_index(db: Database) -> None:
    with db.read() as s:
        patients = list(s.scalars(select(Patient)))
        stored = {(t.pfx, t.sort_key, t.num, t.term) for t in s.scalars(select(PatientTerm))}
    expected = {
        (r["pfx"], r["sort_key"], r["num"], r["term"])
        for p in patients
        for r in search_index.rows_for(p)
    }
    assert stored == expected, "the search index drifted from the patients"
    assert len({p.num for p in patients}) == len(patients)


@pytest.mark.slow
@pytest.mark.timeout(max(300, KILLS * 5))
def test_confirmed_saves_survive_sigkill(tmp_path: Path) -> None:
    path = tmp_path / "data" / "crash.chairside"
    seed = int(os.environ.get("CHAIRSIDE_CRASH_SEED", str(random.randrange(1 << 30))))
    print(f"CHAIRSIDE_CRASH_SEED={seed}")
    confirmed = _run_rounds(path, KILLS, tmp_path / "child-stderr.txt", random.Random(seed))
    assert confirmed.patients, "no round got as far as a confirmed save"
    print(
        f"{KILLS} kills, {len(confirmed.patients)} patients, {len(confirmed.visits)} visits, "
        f"{len(confirmed.notes)} edits confirmed"
    )

    db = open_database(path, SecretStore(null.Keyring()), create=False)
    try:
        assert db.integrity_check() == "ok"
        _check_confirmed_saves(db, confirmed)
        _check_outbox(db, confirmed)
        _check_search_index(db)
        with db.read() as s:
            count = len(s.scalars(select(Patient.id)).all())
        # At most one save per round can commit without being confirmed (killed between
        # the commit and the line); nothing else may appear.
        assert count <= len(confirmed.patients) + KILLS
    finally:
        db.close()
