"""The data download: a practice's patients, visits and appointments streamed from the
cloud's database into the AES ZIP of CSV files.

    python bench/download.py [--patients 100000] [--visits 500000] [--database-url URL]

The practice is written straight into a cloud database (SQLite in bench/out/ by default,
kept per size), then the export runs in a child process of its own, so that its peak
memory is the export's alone. Last line: export_s=<s> zip_mb=<mb> peak_rss_mb=<mb>
Targets: export_s < 60, peak_rss_mb < 200.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

OUT = ROOT / "bench" / "out"
DATA_VERSION = 2  # 2: money as decimal text, as the cloud stores it
INSTALLATION = "424242424242"
CHUNK = 5000
FIRST = ["Ana", "Zoë", "João", "Łukasz", "فاطمة", "王芳", "Ольга", "Søren", "María", "Chloé"]
LAST = ["García", "Müller", "Núñez", "Wiśniewski", "حداد", "李", "Иванова", "Østergaard"]
PROCEDURES = ["Check-up and scaling", "Composite filling 36 (MO)", "Root canal 21, first visit",
              "Extraction 48", "Crown preparation 16", "Whitening, second session"]


def _uuid(rng: random.Random) -> str:
    return "%08x-%04x-7%03x-%04x-%012x" % (  # noqa: UP031 - a fixed-width id
        rng.getrandbits(32), rng.getrandbits(16), rng.getrandbits(12),
        0x8000 | rng.getrandbits(14), rng.getrandbits(48))


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def build(url: str, patients: int, visits: int) -> None:
    from sqlalchemy import insert, select

    from cloud import migrate
    from cloud.db import make_engine
    from cloud.models import Installation, Record

    engine = make_engine(url)
    migrate.upgrade(engine)
    rng = random.Random(17)
    stamp = "1700000000000-0000-benchnode"

    def rows(entity: str, make: object, n: int) -> None:
        batch: list[dict[str, object]] = []
        for i in range(n):
            fields = make(i)  # type: ignore[operator]
            batch.append({"entity_id": _uuid(rng), "installation_id": INSTALLATION,
                          "entity": entity, "fields": fields, "stamps": {}, "bases": {},
                          "max_hlc": stamp, "seq": i})
            if len(batch) == CHUNK:
                with engine.begin() as conn:
                    conn.execute(insert(Record), batch)
                batch = []
        if batch:
            with engine.begin() as conn:
                conn.execute(insert(Record), batch)

    with engine.begin() as conn:
        conn.execute(insert(Installation).values(
            id=INSTALLATION, email="bench@example.org", password_hash="x",
            time_zone="Europe/Lisbon", last_seq=0))
    doctors = [_uuid(rng) for _ in range(3)]
    rows("user", lambda i: {"username": f"dr{i}", "display_name": f"Dr {LAST[i]}",
                            "role": "member", "active": True, "password_hash": "x"}, 3)
    def patient(i: int) -> dict[str, object]:
        return {"first_name": rng.choice(FIRST), "last_name": rng.choice(LAST),
                "gender": rng.choice(("female", "male")), "card_number": str(1000 + i),
                "birth_date": f"19{rng.randint(40, 99)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
                "mobile": f"+35191{rng.randint(1000000, 9999999)}",
                "email": f"p{i}@example.org", "allergies": "Penicillin" if i % 7 == 0 else "",
                "medications": "Aspirin 100 mg" if i % 5 == 0 else "",
                "diseases": "Hypertension" if i % 9 == 0 else "",
                "responsible_user_id": doctors[i % 3]}

    rng_ids = random.Random(99)
    rows("patient", patient, patients)
    with engine.connect() as conn:
        ids = list(conn.execute(select(Record.entity_id).where(Record.entity == "patient"))
                   .scalars())
    day0 = dt.date(2015, 1, 1)
    rows("visit", lambda i: {
        "patient_id": ids[rng_ids.randrange(len(ids))],
        "visit_date": (day0 + dt.timedelta(days=i % 3650)).isoformat(),
        "name": "Visit", "procedure": rng_ids.choice(PROCEDURES),
        "amount_paid": _money(rng_ids.randint(0, 40000)),
        "charge": _money(rng_ids.randint(0, 40000)),
        "notes": "Patient tolerated the procedure well; review in six months.",
        "doctor_id": doctors[i % 3]}, visits)
    rows("appointment", lambda i: {
        "patient_id": ids[rng_ids.randrange(len(ids))],
        "starts_at": f"{(day0 + dt.timedelta(days=i % 3650)).isoformat()}T{9 + i % 8:02d}:30:00",
        "duration_minutes": 30, "status": "done", "reason": "Check-up",
        "doctor_id": doctors[i % 3]}, visits // 2)
    engine.dispose()


def export_child(url: str, dest: str) -> None:
    from cloud.db import make_engine, make_sessionmaker
    from cloud.export import csvzip

    maker = make_sessionmaker(make_engine(url))
    started = time.perf_counter()
    with maker() as session:
        made = csvzip.write(session, INSTALLATION, Path(dest), "bench Passw0rd")
    print(json.dumps({"export_s": time.perf_counter() - started, "size": made.size,
                      "rows": made.rows}))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--patients", type=int, default=100_000)
    ap.add_argument("--visits", type=int, default=500_000)
    ap.add_argument("--database-url", default="")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        export_child(*args.child)
        return
    url = args.database_url
    if not url:
        OUT.mkdir(parents=True, exist_ok=True)
        path = OUT / f"download-v{DATA_VERSION}-{args.patients}-{args.visits}.sqlite3"
        url = f"sqlite:///{path}"
        if not path.exists():
            t = time.perf_counter()
            build(url, args.patients, args.visits)
            print(f"built the practice in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    else:
        build(url, args.patients, args.visits)
    with tempfile.TemporaryDirectory() as tmp:
        dest = str(Path(tmp) / "download.zip")
        out = subprocess.run([sys.executable, __file__, "--child", url, dest], check=True,
                             capture_output=True, text=True, cwd=ROOT).stdout
    result = json.loads(out.strip().splitlines()[-1])
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    rss_mb = usage.ru_maxrss / 1024
    print(f"rows: {result['rows']}")
    # The processor time of the export process (start-up included): on a busy machine
    # export_s is this plus the time it waited for a core.
    print(f"cpu_s={usage.ru_utime + usage.ru_stime:.1f}")
    print(f"export_s={result['export_s']:.1f} zip_mb={result['size'] / 1e6:.1f} "
          f"peak_rss_mb={rss_mb:.0f}")


if __name__ == "__main__":
    main()
