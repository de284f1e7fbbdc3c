"""Start-up time: from launching the desktop app to the patient list showing rows.

    .venv/bin/python bench/startup.py --patients 100000 [--runs 5] [--under-load]

Runs `python main.py --database <bench database> --auto-login ... --exit-when-shown`
(offscreen) several times on the benchmark database (built once by bench/_data.py),
and times each run from just before the process is spawned to the moment it prints
`shown_s=` — interpreter start, imports, opening and migrating the encrypted database,
signing in and the first page of the list all included. The app's own figure (time
since its UI module was imported) is shown beside it, with the CPU time the run used
(steadier than the clock on a busy machine) and the app's resident memory with the
list open (`rss_mb`, and its peak during start-up).

--under-load runs CPU-bound neighbour processes beside the app throughout (one per core
but one, stopped by their pids at the end), as on a reception PC busy with other work.

Last lines: cold_start_s=<median over the runs>, cpu_s=<median>, rss_mb=<median>
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._data import ADMIN_PASSWORD, ADMIN_USER, OUT, ensure_database  # noqa: E402
from bench.search import neighbours  # noqa: E402

TIMEOUT_S = 120


@dataclass(frozen=True)
class Run:
    shown_s: float
    reported_s: float | None
    cpu_s: float
    rss_mb: float | None
    peak_rss_mb: float | None


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _memory(line: str) -> tuple[float | None, float | None]:
    fields = dict(part.split("=", 1) for part in line.split())
    try:
        return float(fields["rss_mb"]), float(fields["peak_rss_mb"])
    except (KeyError, ValueError):
        return None, None


def one_run(path: Path) -> Run:
    env = dict(os.environ)
    env.update(
        QT_QPA_PLATFORM="offscreen",
        CHAIRSIDE_DATA_DIR=str(OUT / "data"),
        CHAIRSIDE_CONFIG_DIR=str(OUT / "config"),  # where the database's key file is
        PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
    )
    cmd = [
        sys.executable,
        str(ROOT / "main.py"),
        "--database",
        str(path),
        "--allow-key-file",
        "--auto-login",
        f"{ADMIN_USER}:{ADMIN_PASSWORD}",
        "--exit-when-shown",
    ]
    cpu_before = _children_cpu()
    started = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    shown: float | None = None
    reported: float | None = None
    memory: tuple[float | None, float | None] = (None, None)
    for line in proc.stdout:
        if line.startswith("shown_s="):
            shown = time.perf_counter() - started
            reported = float(line.strip().split("=", 1)[1])
        elif line.startswith("rss_mb="):
            memory = _memory(line.strip())
            break
    try:
        _, err = proc.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    if shown is None or proc.returncode != 0:
        raise SystemExit(f"the app did not show the list (exit {proc.returncode}):\n{err[-3000:]}")
    return Run(shown, reported, _children_cpu() - cpu_before, *memory)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--patients", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--under-load", action="store_true",
                    help="CPU-bound neighbour processes run beside the app")
    args = ap.parse_args()
    if not (ROOT / "main.py").exists():
        raise SystemExit("main.py is not there yet")
    path = ensure_database(args.patients)
    runs: list[Run] = []
    with neighbours(args.under_load):
        for i in range(args.runs):
            run = one_run(path)
            runs.append(run)
            note = (f" (the app's own count: {run.reported_s:.3f} s)"
                    if run.reported_s is not None else "")
            memory = (f", {run.rss_mb:.0f} MB resident (peak {run.peak_rss_mb:.0f} MB)"
                      if run.rss_mb is not None else "")
            print(f"run {i + 1}: list shown after {run.shown_s:.3f} s{note}, "
                  f"{run.cpu_s:.2f} s CPU{memory}", flush=True)
    times = [r.shown_s for r in runs]
    load = " beside busy neighbours" if args.under_load else ""
    print(
        f"{args.patients} patients{load}: first run {times[0]:.3f} s, median "
        f"{statistics.median(times):.3f} s, best {min(times):.3f} s, worst {max(times):.3f} s"
    )
    print(f"cold_start_s={statistics.median(times):.3f}")
    print(f"cpu_s={statistics.median(r.cpu_s for r in runs):.2f}")
    rss = [r.rss_mb for r in runs if r.rss_mb is not None]
    print(f"rss_mb={statistics.median(rss):.0f}" if rss else "rss_mb=unknown")


if __name__ == "__main__":
    main()
