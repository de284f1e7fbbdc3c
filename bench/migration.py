"""Time the move of a data migration between two clinics, in one process on the cloud's
database (SQLite in a temporary folder, or PostgreSQL with --postgres URL).

    python bench/migration.py --patients 2000

Each patient has 4 visits and 2 images (rows of records, their change-log rows and the
cloud's image rows). Baseline in the same run: writing those rows in the first place,
through the same RecordLog the move uses. The move holds the write lock of both
practices (on SQLite: of the whole database) for its whole time, so this is also how
long other practices' writes wait. Prints wall and CPU seconds of each.
"""

from __future__ import annotations

import argparse
import secrets
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from app.core.hlc import Timestamp
from app.core.ids import new_id, new_node_id
from cloud import migrate
from cloud.crud.record_log import RecordLog, RecordState
from cloud.db import make_engine
from cloud.institutions.migration_job import move_clinic
from cloud.institutions.migration_models import Migration
from cloud.institutions.models import CLINIC, Institution
from cloud.models import Image, Installation, utcnow


def _practice(session: Session) -> Institution:
    iid = f"{secrets.randbelow(10**12):012d}"
    session.add(Installation(id=iid, email="b@example.com", password_hash="x", last_seq=0))
    session.flush()
    clinic = Institution(id=new_id(), code=f"C{iid[-7:]}", type=CLINIC, name=f"Clinic {iid}",
                         region="", auto_review=False, installation_id=iid)
    session.add(clinic)
    session.commit()
    return clinic


def _fill(session: Session, iid: str, patients: int) -> int:
    node = new_node_id()
    inst = session.get(Installation, iid)
    assert inst is not None
    log = RecordLog(iid)
    images = []
    now = utcnow()
    wall = int(time.time() * 1000)
    for p in range(patients):
        pid = new_id()
        rows = [("patient", pid, {"first_name": f"P{p}", "gender": "unknown",
                                  "deleted": False})]
        rows += [("visit", new_id(), {"patient_id": pid, "visit_date": "2026-11-02",
                                      "deleted": False}) for _ in range(4)]
        for k in range(2):
            sha = f"{p:032x}{k:032x}"
            rows.append(("record_image", new_id(), {"patient_id": pid, "kind": "xray",
                                                    "sha256": sha, "size": 10,
                                                    "deleted": False}))
            images.append({"id": new_id(), "installation_id": iid, "sha256": sha, "size": 10,
                           "patient_id": pid, "kind": "xray", "filename": "x.dcm",
                           "seq": 0, "deleted": False, "created_at": now})
        for entity, eid, fields in rows:
            inst.last_seq += 1
            stamp = str(Timestamp(wall, inst.last_seq % 65535, node))
            log.put(RecordState(entity), eid, fields, dict.fromkeys(fields, stamp),
                    dict.fromkeys(fields), seq=inst.last_seq, origin_node=node, now=now)
    log.write(session.connection())
    session.execute(insert(Image), images)
    session.commit()
    return inst.last_seq


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=2000)
    parser.add_argument("--postgres", default="", help="a PostgreSQL URL (a fresh database)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.postgres or f"sqlite:///{Path(folder) / 'cloud.sqlite3'}"
        engine = make_engine(url)
        migrate.upgrade(engine)
        with Session(engine, expire_on_commit=False) as session:
            source, target = _practice(session), _practice(session)
            t0, c0 = time.perf_counter(), time.process_time()
            assert source.installation_id is not None
            rows = _fill(session, source.installation_id, args.patients)
            write = (time.perf_counter() - t0, time.process_time() - c0)
            m = Migration(id=new_id(), source_id=source.id, target_id=target.id,
                          status="running", reason="", requested_by="bench", moved=0, images=0)
            session.add(m)
            session.commit()
            t0, c0 = time.perf_counter(), time.process_time()
            moved, images = move_clinic(session, m, source, target)
            session.commit()
            move = (time.perf_counter() - t0, time.process_time() - c0)
            left = session.scalar(select(Installation.last_seq).where(
                Installation.id == source.installation_id))
        engine.dispose()
    print(f"rows={rows} moved={moved} images={images} sender_seq_after={left}")
    print(f"baseline_write_s={write[0]:.2f} (cpu {write[1]:.2f})  "
          f"move_s={move[0]:.2f} (cpu {move[1]:.2f})  "
          f"move_rows_per_s={moved / move[0]:.0f}")


if __name__ == "__main__":
    main()
