"""A week offline, then the link returns: how long until every PC and the cloud agree.

    python bench/outage.py                                   # the full week (see below)
    python bench/outage.py --pcs 3 --days 1 --changes-per-day 300 --images-per-day 10
    python bench/outage.py --postgres "$(bash scripts/postgres.sh)"   # the cloud on PostgreSQL

N PCs of one practice (real databases, the real cloud process on loopback) first share
some patients, then work offline for --days simulated days: each PC writes about
--changes-per-day record changes a day through the store (new patients, records, edits;
every change reaches the outbox as in the app) and files --images-per-day images of
--image-mb/10 to --image-mb MB (random bytes, filed into the PC's image store as an
import does). Some shared patients are edited on several PCs: some fields by several PCs
at once (k PCs writing one field make k-1 conflicts), others by one PC each (no
conflict). Then every PC runs its sync agent (sync_agent.runner.Agent, each in an OS
process of its own: bench/_pc_process.py) until every PC holds the cloud's records and
conflict list and every image has reached the cloud; the time that takes is converge_s.

"Identical" is checked afterwards: a canonical dump per entity (every field and its
stamp) equal on every PC, each PC's stamps equal to the cloud's records table, every
image's SHA-256 stored on the cloud, the conflict list (key and decision) equal on every
PC and the cloud. lost= counts changes written offline that the cloud does not hold
(its stamp of the field older than the write), records missing anywhere, records that
differ between replicas, and images missing on the cloud.

Downloads of the other PCs' images to every PC are off (they multiply the bytes by
N-1 and are not part of "the cloud holds everything"); --download turns them on (they
then compete for the same time, but the clock does not wait for them).

The cloud keeps its data in SQLite unless --postgres names a PostgreSQL server (a
practice's cloud runs on PostgreSQL; the run makes and drops a database of its own
there); the first line says which. Images go up from the first second, alongside the
records (sync_agent.runner starts the files' thread before pushing the outbox).

Each PC's agent is a process of its own, as each PC is a computer of its own in a
practice: they share no interpreter lock, only this machine's cores, with the cloud
(in a practice each PC has its own); pcs_cpu_s (the PCs' processes), cloud_cpu_s and
check_cpu_s (this process reading every PC's database to see whether they caught up)
are printed beside the wall time, with the load average, to tell the shares apart.

The full default (10 PCs x 7 days x 200 images of 0.5-5 MB, 2,000 changes a day each)
writes about 140,000 changes and 14,000 images, about 38 GB: it needs about 80 GB of free
disk (each image is in the PC's store and in the cloud's blob store). On a shared 2-core
machine the week with --images-per-day 10 (140,645 changes, 700 images, 2 GB) took 3.5
minutes to write; with every PC a process, it converged in 93 s on SQLite (102 s of CPU
on the PCs, 39 s in the cloud, 2 s checking; cpu_floor_s=72, load 2.1 before and 7.7
after) and in 104 s on PostgreSQL (118 s, 46 s without the PostgreSQL server's own, 1 s;
cpu_floor_s=82, load 1.0 then 7.5), each PC pulling while its own outbox went up. Before
that (a PC pushed its whole outbox first, the check counted every outbox) it had taken
127 s on SQLite (119 s, 41 s, 9 s; cpu_floor_s=85) and 168 s on PostgreSQL (126 s, 50
s, 11 s; cpu_floor_s=93). With the PCs as threads of one process (one
interpreter lock, about one core for all ten) the same week took 160 s on SQLite within
the same half hour (140 s of CPU on the PCs and checking, 40 s in the cloud, load 2.3
then 7.6), 179 s earlier.
The PCs' share is mostly applying the other nine PCs' changes (about 126,000 each).
cpu_floor_s, the CPU time of all over the cores, is what the wall time cannot beat here;
in a practice, where each PC has its own cores, a PC's share is pcs_cpu_s/N. The images
of the full default add 37 GB at the 11-15 MB/s measured here alongside the records,
which 2 cores cannot carry in 120 s. Target: converge_s < 120 on 2 cores, lost=0,
conflicts equal to expected_conflicts.
With CHAIRSIDE_BENCH_TRACE=DIR each PC's pushes, pulls, pages applied and upload
slices are timed (bench/_pc_trace.py; `python bench/_pc_trace.py DIR` sums them up).
Last line: converge_s=... conflicts=... lost=...
"""

from __future__ import annotations

import argparse
import os
import random
import re
import resource
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._cloud_db import CloudDb, drop_postgres, fresh_postgres
from bench._cloud_util import Cloud, start
from bench._pc_process import PcFleet, proc_cpu_s

# Fields of shared patients that several PCs write: each (patient, field) pair is used
# once in a run, so that the expected conflicts are known exactly.
SHARED_FIELDS = ("allergies", "medications", "diseases", "oral_habits", "past_medical_history",
                 "address", "email", "landline", "case_types")


@dataclass
class Replica:
    name: str
    store: Any
    agent: Any
    admin: Any
    own_patients: list[str] = field(default_factory=list)
    own_visits: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    image_bytes: int = 0
    error: str | None = None
    troubled_passes: int = 0


def cpu_s(cloud: Cloud) -> tuple[float, float]:
    """CPU seconds used so far by (this process, the cloud process); 0 for the cloud's
    when not Linux."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    return me.ru_utime + me.ru_stime, proc_cpu_s(cloud.proc.pid)


def make_pcs(cloud: Cloud, work: Path, n: int, download: bool) -> list[Replica]:
    from app.store.db import open_database
    from app.store.services import Store
    from bench import _data
    from sync_agent import connection
    from sync_agent.client import CloudClient
    from sync_agent.download_job import DownloadReport
    from sync_agent.runner import Agent

    secrets = _data.secret_store()
    inst = CloudClient(cloud.url).register_installation("outage@example.com")
    password = ""
    for mail in (cloud.data / "mail").glob("*.eml"):
        found = re.search(r"Upload password: (\S+)", mail.read_text())
        if inst in mail.read_text() and found:
            password = found.group(1)
    pcs = []
    for i in range(n):
        db = open_database(work / f"pc{i}.chairside", secrets, allow_key_file=True)
        connection.register_device(db, secrets, cloud.url, inst, password)
        store = Store.over(db)
        admin = store.users.create(f"admin{i}", f"Admin {i}", "correct horse", "admin")
        agent = Agent(db, secrets, tick_s=0)
        if not download:
            agent.download_job.run = lambda *a, **k: DownloadReport()  # type: ignore[method-assign]
        pcs.append(Replica(f"pc{i}", store, agent, admin))
    return pcs


def sync_round(pcs: list[Replica]) -> None:
    for pc in pcs:
        pc.agent.sync_once(forced=True)
        if pc.agent.last_error:
            raise SystemExit(f"{pc.name}: {pc.agent.last_error}")


def outbox_seq(pc: Replica) -> int:
    from sqlalchemy import func, select

    from app.store.models import OutboxMutation

    with pc.store.db.read() as s:
        return int(s.scalar(select(func.max(OutboxMutation.seq))) or 0)


def plan_shared(n_pcs: int, days: int, per_day: int, rng: random.Random,
                shared: list[str]) -> tuple[dict[tuple[int, int], list[tuple[str, str, str]]], int]:
    """{(pc, day): [(patient, field, value)]} of writes to shared patients, and the
    conflicts they make. Each (patient, field) is written by one PC (no conflict) or
    by k PCs at once (k-1 conflicts)."""
    pairs = [(p, f) for p in shared for f in SHARED_FIELDS]
    rng.shuffle(pairs)
    plan: dict[tuple[int, int], list[tuple[str, str, str]]] = {}
    expected = 0
    for day in range(days):
        for j in range(per_day):
            patient, name = pairs.pop()
            contested = n_pcs > 1 and j % 2 == 0
            k = rng.randint(2, min(3, n_pcs)) if contested else 1
            for pc in rng.sample(range(n_pcs), k):
                plan.setdefault((pc, day), []).append(
                    (patient, name, f"{name} by pc{pc} on day {day + 1} #{j}"))
            expected += k - 1
    return plan, expected


def work_a_day(pc: Replica, index: int, day: int, args: argparse.Namespace,
               rng: random.Random, writes: list[tuple[str, str, str]], tmp: Path) -> None:
    """One day's record changes and images on one PC, offline."""
    from app.store.images.images_repo import ImagesRepo
    from app.store.models import Patient, Visit

    viewer = pc.admin.viewer()
    changes = args.changes_per_day - len(writes)
    new_patients = max(1, changes // 10)
    for j in range(new_patients):
        p = pc.store.patients.create(viewer, {"first_name": f"P{index}d{day}n{j}",
                                              "last_name": f"Outage{rng.randrange(10**6)}"})
        pc.own_patients.append(p.id)
    visits = changes * 3 // 10
    edits = changes - new_patients - visits
    date = f"2026-03-{day % 28 + 1:02d}"
    # An hour's work at a time: one transaction of many changes, as a busy practice.
    hours = 8
    for h in range(hours):
        with pc.store.db.write() as s:
            for j in range(visits * (h + 1) // hours - visits * h // hours):
                v = Visit(patient_id=rng.choice(pc.own_patients), visit_date=date,
                          name=f"Check-up {day}.{h}.{j}", notes="offline")
                s.add(v)
                s.flush()
                pc.own_visits.append(v.id)
            for j in range(edits * (h + 1) // hours - edits * h // hours):
                if j % 3 == 0 and pc.own_visits:
                    s.get(Visit, rng.choice(pc.own_visits)).notes = f"note {day}.{h}.{j}"
                else:
                    s.get(Patient, rng.choice(pc.own_patients)).note = f"seen {day}.{h}.{j}"
            if h == hours // 2:
                for patient, name, value in writes:
                    setattr(s.get(Patient, patient), name, value)
    images = ImagesRepo(pc.store.db)
    lo, hi = int(args.image_mb * 1e6 / 10), int(args.image_mb * 1e6)
    for j in range(args.images_per_day):
        path = tmp / f"{pc.name}-{day}-{j}.bin"
        size = rng.randint(lo, hi)
        path.write_bytes(os.urandom(size))
        report = images.add_files(viewer, rng.choice(pc.own_patients), [path],
                                  kind="intraoral_photo")
        if report.failed or not report.added:
            raise SystemExit(f"filing an image failed: {report.failed}")
        pc.images.append(report.added[0].sha256)
        pc.image_bytes += size
        path.unlink()


# Convergence --------------------------------------------------------------------------
# What caught_up reads of a PC, in one statement: the check runs twice a second over
# every PC while they work, and counting a 14,000-row outbox by status (as the agent's
# status bar does) at each look took 14 of the 185 CPU seconds a week's run used.
PC_STATE = (
    "SELECT EXISTS (SELECT 1 FROM outbox),"
    " EXISTS (SELECT 1 FROM uploads WHERE status IN ('pending', 'uploading')),"
    " (SELECT pull_cursor FROM sync_state WHERE id = 1),"
    " (SELECT value FROM settings WHERE key = 'conflicts_cursor')")


def caught_up(pcs: list[Replica], db: CloudDb) -> dict[str, bool]:
    """Cheap: is every outbox empty ("pushed"), and besides every PC's cursors at the
    cloud's end ("records"); is every upload queue empty ("images")."""
    import json

    from sqlalchemy import text

    ((last_change,),) = db.rows("SELECT coalesce(max(seq), 0) FROM changes")
    ((last_conflict,),) = db.rows("SELECT coalesce(max(version), 0) FROM conflicts")
    pushed = records = images = True
    for pc in pcs:
        with pc.store.db.read() as s:
            outbox, uploads, cursor, listed = s.execute(text(PC_STATE)).one()
        images = images and not uploads
        if outbox:
            pushed = records = False
        # The setting is JSON: SQLite may keep the number as a number or as its text.
        listed = json.loads(listed) if isinstance(listed, str | bytes) else listed
        if cursor < last_change or int(listed or 0) < last_conflict:
            records = False
    return {"pushed": pushed, "records": records, "images": images}


def run_agents(pcs: list[Replica], db: CloudDb, download: bool) -> tuple[dict[str, float], float]:
    """Every PC's agent in an OS process of its own until all caught up: the seconds
    until each of caught_up's conditions first held, and until all did ("converge");
    and the CPU seconds the PCs' processes used meanwhile."""
    fleet = PcFleet([pc.store.db.path for pc in pcs], download)
    fleet.start()  # Python and the databases opened before the clock starts
    t0 = time.perf_counter()
    fleet.go()
    firsts: dict[str, float] = {}
    try:
        while True:
            state = caught_up(pcs, db)
            for name, held in state.items():
                if held and name not in firsts:
                    firsts[name] = time.perf_counter() - t0
            if state["records"] and state["images"]:
                break
            if not fleet.alive():
                raise SystemExit("a PC's agent process ended before the PCs caught up")
            time.sleep(0.5)  # the check reads every PC's database: not too often
        firsts["converge"] = time.perf_counter() - t0
    finally:
        reports = fleet.stop()
    for pc, (error, troubled) in zip(pcs, reports, strict=True):
        pc.error, pc.troubled_passes = error, troubled
    return firsts, fleet.cpu_s


def dump(pc: Replica) -> dict[str, tuple[dict[str, object], dict[str, str]]]:
    from sqlalchemy import select

    from app.store.models import SYNCED_MODELS

    out = {}
    with pc.store.db.read() as s:
        for model in SYNCED_MODELS:
            for row in s.scalars(select(model)):
                out[f"{model.__entity__}:{row.id}"] = (
                    {n: getattr(row, n) for n in row.stamps},
                    {n: v[0] for n, v in row.stamps.items()})
    return out


def conflicts_of(pc: Replica) -> dict[str, str | None]:
    from sqlalchemy import select

    from app.store.models import ConflictRecord

    with pc.store.db.read() as s:
        return {c.key: c.resolution for c in s.scalars(select(ConflictRecord))}


def check(pcs: list[Replica], cloud: Cloud, db: CloudDb,
          written: list[tuple[str, str, str, str]]
          ) -> tuple[int, dict[str, str | None], list[str]]:
    """(lost, the cloud's conflicts, what differs) after convergence."""
    import json

    problems: list[str] = []
    from app.core.compact import expanded_stamps

    # Read as stored: a stamp most fields share is kept once (app.core.compact).
    cloud_stamps = {f"{e}:{i}": expanded_stamps(json.loads(st) if isinstance(st, str) else st)
                    for e, i, st in db.rows("SELECT entity, entity_id, stamps FROM records")}
    cloud_conflicts = dict(db.rows("SELECT key, resolution FROM conflicts"))
    stored = {sha for (sha,) in db.rows("SELECT sha256 FROM images")}
    dumps = [dump(pc) for pc in pcs]
    lost = 0
    first = dumps[0]
    for pc, d in zip(pcs[1:], dumps[1:], strict=True):
        differ = [k for k in first.keys() | d.keys() if first.get(k) != d.get(k)]
        if differ:
            problems.append(f"{pc.name} differs from pc0 in {len(differ)} records, "
                            f"e.g. {differ[0]}: {first.get(differ[0])} vs {d.get(differ[0])}")
            lost += len(differ)
    for key, (_fields, stamps) in first.items():
        theirs = cloud_stamps.get(key)
        mine = {n: h for n, h in stamps.items() if h}
        if theirs is None or any(theirs.get(n) != h for n, h in mine.items()):
            problems.append(f"pc0 and the cloud differ on {key}: {mine} vs {theirs}")
            lost += 1
    for entity_key, name, hlc, _value in written:
        theirs = cloud_stamps.get(entity_key, {}).get(name)
        if theirs is None or theirs < hlc:
            problems.append(f"a write to {entity_key}.{name} at {hlc} is not on the cloud "
                            f"(its stamp {theirs})")
            lost += 1
    missing = [sha for pc in pcs for sha in pc.images if sha not in stored
               or not cloud.stored_size(sha)]
    if missing:
        problems.append(f"{len(missing)} images are not on the cloud, e.g. {missing[0]}")
        lost += len(missing)
    for pc in pcs:
        mine = conflicts_of(pc)
        if mine != cloud_conflicts:
            problems.append(f"{pc.name}'s conflict list differs from the cloud's: "
                            f"{len(mine)} vs {len(cloud_conflicts)}, "
                            f"{len(mine.keys() ^ cloud_conflicts.keys())} keys apart")
    return lost, cloud_conflicts, problems


def offline_writes(pcs: list[Replica], since: dict[str, int]) -> list[tuple[str, str, str, str]]:
    """(entity:id, field, hlc, node) of every write in the outboxes since `since`."""
    from sqlalchemy import select

    from app.store.models import OutboxMutation

    out = []
    for pc in pcs:
        with pc.store.db.read() as s:
            for m in s.scalars(select(OutboxMutation).where(
                    OutboxMutation.seq > since[pc.name])):
                for name, stamp in m.payload["hlc"].items():
                    out.append((f"{m.entity}:{m.entity_id}", name, stamp, pc.name))
    return out


def main() -> None:  # noqa: PLR0915
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pcs", type=int, default=10)
    ap.add_argument("--days", type=int, default=7)
    ap.add_argument("--changes-per-day", type=int, default=2000)
    ap.add_argument("--images-per-day", type=int, default=200)
    ap.add_argument("--image-mb", type=float, default=5.0,
                    help="largest image in MB; the smallest is a tenth of it")
    ap.add_argument("--shared-per-day", type=int, default=None,
                    help="writes to shared patients per PC a day (default 2%% of changes)")
    ap.add_argument("--download", action="store_true",
                    help="also fetch the other PCs' images to every PC")
    ap.add_argument("--postgres", metavar="URL",
                    help="run the cloud on PostgreSQL, as a practice's would, in a new "
                         "database made next to URL's (scripts/postgres.sh prints one); "
                         "without: SQLite")
    ap.add_argument("--seed", type=int, default=13)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    shared_per_day = args.shared_per_day if args.shared_per_day is not None else max(
        2, args.changes_per_day // 50)

    work = Path(tempfile.mkdtemp(prefix="chairside-outage-"))
    os.environ["CHAIRSIDE_DATA_DIR"] = str(work / "app-data")
    os.environ["CHAIRSIDE_CONFIG_DIR"] = str(work / "config")
    pg = args.postgres
    database_url = fresh_postgres(pg) if pg else ""
    cloud = start(work / "cloud", {"DATABASE_URL": database_url})
    db = CloudDb(cloud, database_url or None)
    print(f"cloud_db={'postgresql' if pg else 'sqlite'}", flush=True)
    pcs: list[Replica] = []
    try:
        t_setup = time.perf_counter()
        pcs = make_pcs(cloud, work, args.pcs, args.download)
        # The practice's shared patients, known everywhere before the link goes down.
        pairs_needed = shared_per_day * args.pcs * args.days
        n_shared = pairs_needed // len(SHARED_FIELDS) + 2
        shared = [pcs[0].store.patients.create(
            pcs[0].admin.viewer(), {"first_name": f"Shared{j}", "last_name": "Practice"}).id
            for j in range(n_shared)]
        sync_round(pcs)
        sync_round(pcs)
        since = {pc.name: outbox_seq(pc) for pc in pcs}
        plan, expected = plan_shared(args.pcs, args.days, shared_per_day * args.pcs // 2,
                                     rng, shared)
        print(f"setup {time.perf_counter() - t_setup:.1f} s: {args.pcs} PCs, "
              f"{n_shared} shared patients", flush=True)

        t_write = time.perf_counter()
        tmp = work / "incoming"
        tmp.mkdir()
        for day in range(args.days):
            for i, pc in enumerate(pcs):
                work_a_day(pc, i, day, args, rng, plan.get((i, day), []), tmp)
            print(f"day {day + 1} written ({time.perf_counter() - t_write:.0f} s)", flush=True)
        written = offline_writes(pcs, since)
        records = len({e for e, _n, _h, _node in written})
        mutations = sum(pc.agent.sync.outbox_counts()[0] for pc in pcs)
        images = sum(len(pc.images) for pc in pcs)
        image_bytes = sum(pc.image_bytes for pc in pcs)
        print(f"offline week written in {time.perf_counter() - t_write:.0f} s: "
              f"records={records} changes={mutations} field_writes={len(written)} "
              f"images={images} bytes={image_bytes} expected_conflicts={expected}", flush=True)

        load_before = os.getloadavg()
        bench_cpu0, cloud_cpu0 = cpu_s(cloud)
        firsts, pcs_cpu = run_agents(pcs, db, args.download)
        converge_s = firsts["converge"]
        phases = " ".join(f"{name}_s={firsts.get(name, converge_s):.1f}"
                          for name in ("pushed", "records", "images"))
        # check_cpu_s: this process reading every PC's database for caught_up.
        check_cpu, cloud_cpu = (b - a for a, b in zip((bench_cpu0, cloud_cpu0), cpu_s(cloud),
                                                        strict=True))
        all_cpu = pcs_cpu + cloud_cpu + check_cpu
        load_after = os.getloadavg()
        errors = [f"{pc.name} ({pc.troubled_passes} passes): {pc.error}"
                  for pc in pcs if pc.error]
        print(f"caught up in {converge_s:.1f} s (first every outbox empty, every record "
              f"everywhere, every image up: {phases}); pcs_cpu_s={pcs_cpu:.1f} "
              f"cloud_cpu_s={cloud_cpu:.1f} check_cpu_s={check_cpu:.1f} "
              f"load_before={load_before[0]:.2f} load_after={load_after[0]:.2f} "
              f"cores={os.cpu_count()} "
              f"cpu_floor_s={all_cpu / (os.cpu_count() or 1):.1f} "
              f"mb_s={image_bytes / 1e6 / converge_s:.1f}", flush=True)
        if errors:
            print("trouble on the way (retried): " + "; ".join(errors))
        t_check = time.perf_counter()
        lost, conflicts, problems = check(pcs, cloud, db, written)
        print(f"checked in {time.perf_counter() - t_check:.1f} s")
        for p in problems[:20]:
            print("PROBLEM:", p)
        open_conflicts = sum(1 for r in conflicts.values() if r is None)
        print(f"records={records} images={images} bytes={image_bytes} "
              f"{phases} pcs_cpu_s={pcs_cpu:.1f} cloud_cpu_s={cloud_cpu:.1f} "
              f"load={os.getloadavg()[0]:.2f} "
              f"expected_conflicts={expected} open_conflicts={open_conflicts} "
              f"problems={len(problems)}")
        print(f"converge_s={converge_s:.1f} conflicts={len(conflicts)} lost={lost}")
    finally:
        for pc in pcs:
            pc.store.db.close()
        cloud.stop()
        if db.engine is not None:
            db.engine.dispose()
        if pg:
            drop_postgres(pg, database_url)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
