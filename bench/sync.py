"""Push a practice database through the sync agent to a cloud on loopback, then pull it
into a second, empty PC.

    python bench/sync.py --patients 100000 --visits 500000

The database is the search benchmark's (bench/_data.py, cached in bench/out/; about 5
visits a patient), copied and queued whole for upload as "Update all patient data now"
does. Last line: queue_s=<q> push_s=<x> pull_s=<y> (targets on a quiet machine: queue
< 10 s, push and pull each < 30 s), then the CPU seconds each phase spent (this process,
and the cloud's) and the load average, since the machine running it may be shared.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import _data
from bench._cloud_util import start
from bench._pc_process import proc_cpu_s


class Phase:
    """Wall time and CPU time (ours and the cloud's) of one phase."""

    def __init__(self, cloud_pid: int) -> None:
        self.cloud_pid = cloud_pid
        self.wall = time.perf_counter()
        self.ours = time.process_time()
        self.cloud = proc_cpu_s(cloud_pid)

    def done(self) -> tuple[float, float, float]:
        return (time.perf_counter() - self.wall, time.process_time() - self.ours,
                proc_cpu_s(self.cloud_pid) - self.cloud)


def main() -> None:  # noqa: PLR0915
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--patients", type=int, default=100_000)
    ap.add_argument("--visits", type=int, default=None,
                    help="informational: the data set has about 5 visits a patient")
    args = ap.parse_args()
    source = _data.ensure_database(args.patients)

    from sqlalchemy import func, select

    from app.core.ids import new_id, new_node_id
    from app.store import keys
    from app.store.db import open_database
    from app.store.models import Patient, Visit
    from app.store.sync.sync_repo import SyncRepo, queue_everything
    from sync_agent import connection
    from sync_agent.client import CloudClient
    from sync_agent.runner import Agent

    secrets = _data.secret_store()
    work = Path(tempfile.mkdtemp(prefix="chairside-sync-bench-"))
    cloud = start(work / "cloud")
    try:
        pc_a = work / "a.chairside"
        shutil.copyfile(source, pc_a)
        keys._write_key_file(keys.key_file_path(pc_a), keys.load_key(source, secrets))
        db_a = open_database(pc_a, secrets)
        with db_a.writer.begin() as conn:
            conn.exec_driver_sql("UPDATE sync_state SET node_id = ?, database_id = ?",
                                 (new_node_id(), new_id()))
        db_a.ensure_identity()
        with db_a.read() as s:
            patients = s.scalar(select(func.count()).select_from(Patient))
            visits = s.scalar(select(func.count()).select_from(Visit))
        print(f"{patients:,} patients and {visits:,} visits")

        phase = Phase(cloud.proc.pid)
        queued = queue_everything(db_a)
        queue_s, queue_cpu, _ = phase.done()
        print(f"queued {queued:,} rows for upload in {queue_s:.1f} s (cpu {queue_cpu:.1f} s)")

        inst = CloudClient(cloud.url).register_installation("bench@example.com")
        password = ""
        for mail in (cloud.data / "mail").glob("*.eml"):
            found = re.search(r"Upload password: (\S+)", mail.read_text())
            if inst in mail.read_text() and found:
                password = found.group(1)
        connection.register_device(db_a, secrets, cloud.url, inst, password)
        agent_a = Agent(db_a, secrets, tick_s=0)
        phase = Phase(cloud.proc.pid)
        while SyncRepo(db_a).outbox_counts()[0]:
            agent_a.sync_once(forced=True)
            if agent_a.last_error:
                raise SystemExit(f"push failed: {agent_a.last_error}")
        push_s, push_cpu, push_cloud = phase.done()
        print(f"pushed in {push_s:.1f} s ({queued / push_s:,.0f} rows/s; cpu: agent "
              f"{push_cpu:.1f} s, cloud {push_cloud:.1f} s)")

        pc_b = work / "b.chairside"
        db_b = open_database(pc_b, secrets, allow_key_file=True)
        connection.register_device(db_b, secrets, cloud.url, inst, password)
        agent_b = Agent(db_b, secrets, tick_s=0)
        phase = Phase(cloud.proc.pid)
        agent_b.sync_once(forced=True)
        if agent_b.last_error:
            raise SystemExit(f"pull failed: {agent_b.last_error}")
        pull_s, pull_cpu, pull_cloud = phase.done()
        with db_b.read() as s:
            got_p = s.scalar(select(func.count()).select_from(Patient))
            got_v = s.scalar(select(func.count()).select_from(Visit))
        print(f"pulled {got_p:,} patients and {got_v:,} visits in {pull_s:.1f} s (cpu: agent "
              f"{pull_cpu:.1f} s, cloud {pull_cloud:.1f} s)")
        if (got_p, got_v) != (patients, visits):
            raise SystemExit("the second PC does not hold the same data")
        db_a.close()
        db_b.close()
    finally:
        cloud.stop()
        shutil.rmtree(work, ignore_errors=True)
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"queue_s={queue_s:.1f} push_s={push_s:.1f} pull_s={pull_s:.1f} "
          f"cpu_queue_s={queue_cpu:.1f} cpu_push_s={push_cpu + push_cloud:.1f} "
          f"cpu_pull_s={pull_cpu + pull_cloud:.1f} load={load}")


if __name__ == "__main__":
    main()
