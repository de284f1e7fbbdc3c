"""One simulated PC's sync agent in an OS process of its own, as in a practice where every
PC is a computer: the PCs then share no interpreter lock, only the machine's cores.

The process imports and opens its database before the start signal, so that the clock
measures syncing and not Python starting up; its CPU time is read from /proc at the
start signal and before it stops (PcProcess.cpu_s).
"""

from __future__ import annotations

import multiprocessing as mp
import os
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any


def proc_cpu_s(pid: int) -> float:
    """User plus system CPU seconds of a live process (0 when not Linux or gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")


def _agent_loop(db_path: str, download: bool, ready: Event, go: Event, done: Event,
                report: Connection) -> None:
    """The bench's agent loop (sync_once, forced, as fast as there is work; a pass a
    second when idle), then (last error, troubled passes) sent to the parent."""
    from app.store.db import open_database
    from bench import _data, _pc_trace
    from sync_agent.download_job import DownloadReport
    from sync_agent.runner import Agent

    db = open_database(Path(db_path), _data.secret_store(), allow_key_file=True)
    agent = Agent(db, _data.secret_store(), tick_s=0)
    if not download:
        agent.download_job.run = lambda *a, **k: DownloadReport()  # type: ignore[method-assign]
    error: str | None = None
    troubled = 0
    trace = _pc_trace.install(Path(db_path).stem)
    ready.set()
    go.wait()
    if trace is not None:
        trace.start()
        trace.wrap(done, "wait", "idle")
    try:
        while not done.is_set():
            try:
                agent.sync_once(forced=True)
            except Exception as exc:  # the agent's process would stop and be restarted
                agent.last_error = f"the agent stopped: {exc!r}"[:300]
            if agent.last_error:
                error = agent.last_error
                troubled += 1
            if agent.sync.outbox_counts() == (0, 0) and not agent.uploads.counts().files:
                # Idle: a pull a second, as often as the agent's loop ticks (it pulls
                # every PULL_EVERY_S when nothing waits; the bench does not wait that).
                done.wait(1.0)
    finally:
        report.send((error, troubled))
        if trace is not None:
            trace.save()
        db.close()


@dataclass
class PcProcess:
    proc: Any
    ready: Event
    report: Connection
    cpu0: float = 0.0
    cpu1: float = 0.0

    @property
    def cpu_s(self) -> float:
        return self.cpu1 - self.cpu0


class PcFleet:
    """The PCs' agents, one process each: start() waits until all are ready, go() starts
    them together, stop() ends them and returns each one's (last error, troubled passes)."""

    def __init__(self, db_paths: list[Path], download: bool) -> None:
        ctx = mp.get_context("spawn")  # nothing of the parent's open databases is shared
        self.go_event = ctx.Event()
        self.done = ctx.Event()
        self.pcs: list[PcProcess] = []
        for path in db_paths:
            ready = ctx.Event()
            reader, writer = ctx.Pipe(duplex=False)
            proc = ctx.Process(target=_agent_loop, daemon=True, name=f"pc-{path.stem}",
                               args=(str(path), download, ready, self.go_event, self.done,
                                     writer))
            self.pcs.append(PcProcess(proc, ready, reader))

    def start(self, timeout_s: float = 300.0) -> None:
        for pc in self.pcs:
            pc.proc.start()
        for pc in self.pcs:
            if not pc.ready.wait(timeout_s):
                raise SystemExit(f"{pc.proc.name} did not start")

    def go(self) -> None:
        for pc in self.pcs:
            pc.cpu0 = proc_cpu_s(pc.proc.pid)
        self.go_event.set()

    def alive(self) -> bool:
        return all(pc.proc.is_alive() for pc in self.pcs)

    def stop(self) -> list[tuple[str | None, int]]:
        # CPU read before the stop signal: a process gone is no longer in /proc.
        for pc in self.pcs:
            pc.cpu1 = proc_cpu_s(pc.proc.pid)
        self.done.set()
        self.go_event.set()
        out: list[tuple[str | None, int]] = []
        for pc in self.pcs:
            got = pc.report.recv() if pc.report.poll(120) else ("no report", 0)
            pc.proc.join(30)
            if pc.proc.is_alive():
                pc.proc.kill()
            out.append(got)
        return out

    @property
    def cpu_s(self) -> float:
        return sum(pc.cpu_s for pc in self.pcs)
