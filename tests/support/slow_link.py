"""One image and a stream of patient records through a poor line, with the real agent.

Used by tests/integration/agent/test_slow_link.py and bench/slow_link.py: the agent
(its own loop, in a thread) sends a random file through a FaultProxy limited to a
given rate, while records are written one after another on the PC; each record's
time to reach the cloud (its outbox row acknowledged) is measured, and so is every
progress the agent published.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from app.store.dto import UserRow
from app.store.services import Store
from sync_agent.runner import Agent
from sync_agent.upload_run import UploadProgress
from tests.support.cloud_blobs import blob_path, stored_plain_sha
from tests.support.fault_proxy import Fault, FaultProxy

KIB = 1024


@dataclass
class SlowLinkRun:
    completed: bool
    seconds: float
    size: int
    sent_bytes: int  # PATCH body bytes that reached the server
    largest_chunk: int
    interruptions: int  # faults that struck
    record_latencies: list[float]
    progress: list[UploadProgress] = field(default_factory=list)

    @property
    def resent_bytes(self) -> int:
        return self.sent_bytes - self.size

    def record_p95(self) -> float:
        if not self.record_latencies:
            return 0.0
        ordered = sorted(self.record_latencies)
        return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def random_file(path: Path, size: int) -> Path:
    path.write_bytes(os.urandom(size))
    return path


def run(
    agent: Agent, store: Store, admin: UserRow, proxy: FaultProxy, image: Path,
    patient_id: str, cloud_data: Path, *, records: int = 20, faults: list[Fault] | None = None,
    limit_s: float = 600.0, weather: Callable[[FaultProxy, threading.Event], None] | None = None,
) -> SlowLinkRun:
    """Queue `image`, run the agent until it is stored, writing `records` patients
    (one at a time, each once the previous arrived) while it travels. `weather(proxy,
    done)` runs in a thread of its own meanwhile (stalls, blackholes) until `done`."""
    seen: list[UploadProgress] = []
    publish = agent._upload_progress

    def progress(p: UploadProgress) -> None:
        seen.append(p)
        publish(p)

    agent.upload_job.on_progress = progress
    size = image.stat().st_size
    sha = agent.uploads.enqueue(image, patient_id, "cbct")
    stored = blob_path(cloud_data, sha)
    if faults:
        proxy.inject(*faults)
    loop = threading.Thread(target=agent.run, name="agent-loop", daemon=True)
    done = threading.Event()
    storm = None
    if weather is not None:
        storm = threading.Thread(target=weather, args=(proxy, done), name="proxy-weather")
    started = time.monotonic()
    loop.start()
    if storm is not None:
        storm.start()
    latencies: list[float] = []
    pause = threading.Event()
    try:
        while not stored.exists() and time.monotonic() - started < limit_s:
            if len(latencies) < records and agent.uploads.counts().files:
                written = time.monotonic()
                store.patients.create(admin.viewer(), {
                    "first_name": "Rec", "last_name": f"Meanwhile {len(latencies)}"})
                while agent.sync.outbox_counts()[0] and time.monotonic() - written < 60:
                    pause.wait(0.05)
                latencies.append(time.monotonic() - written)
            else:
                pause.wait(0.1)
        seconds = time.monotonic() - started
        # Done when the agent says so too (its row), not only the cloud's blob.
        end = time.monotonic() + 30
        while agent.uploads.counts().files and time.monotonic() < end:
            pause.wait(0.1)
    finally:
        done.set()
        agent.stop()
        loop.join(120)
        if storm is not None:
            storm.join(30)
    completed = stored.exists() and stored_plain_sha(cloud_data, sha)[0] == sha
    return SlowLinkRun(
        completed=completed and not agent.uploads.counts().files,
        seconds=seconds, size=size, sent_bytes=proxy.stats.body_up["PATCH"],
        largest_chunk=proxy.stats.largest_body["PATCH"],
        interruptions=len(proxy.stats.applied), record_latencies=latencies, progress=seen,
    )


def monotonic_progress(seen: list[UploadProgress]) -> bool:
    """The bytes shown for a file never go back while it stays in flight."""
    last: dict[str, int] = {}
    for p in seen:
        if p.current is None:
            continue
        if p.done < last.get(p.current, 0):
            return False
        last[p.current] = p.done
    return True
