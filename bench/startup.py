"""Start-up time: from launching the desktop app to the patient list showing rows.

    .venv/bin/python bench/startup.py --patients 100000 [--runs 5]

Runs `python main.py --database <bench database> --auto-login ... --exit-when-shown`
(offscreen) several times on the benchmark database (built once by bench/_data.py),
and times each run from just before the process is spawned to the moment it prints
`shown_s=` — interpreter start, imports, opening and migrating the encrypted database,
signing in and the first page of the list all included. The app's own figure (time
since its UI module was imported) is shown beside it.

Last line: cold_start_s=<median over the runs>
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._data import ADMIN_PASSWORD, ADMIN_USER, OUT, ensure_database  # noqa: E402

TIMEOUT_S = 120


def one_run(path: Path) -> tuple[float, float | None]:
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
    started = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    shown: float | None = None
    reported: float | None = None
    for line in proc.stdout:
        if line.startswith("shown_s="):
            shown = time.perf_counter() - started
            reported = float(line.strip().split("=", 1)[1])
            break
    try:
        _, err = proc.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    if shown is None or proc.returncode != 0:
        raise SystemExit(f"the app did not show the list (exit {proc.returncode}):\n{err[-3000:]}")
    return shown, reported


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--patients", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    if not (ROOT / "main.py").exists():
        raise SystemExit("main.py is not there yet")
    path = ensure_database(args.patients)
    times: list[float] = []
    for i in range(args.runs):
        shown, reported = one_run(path)
        times.append(shown)
        note = f" (the app's own count: {reported:.3f} s)" if reported is not None else ""
        print(f"run {i + 1}: list shown after {shown:.3f} s{note}", flush=True)
    print(
        f"{args.patients} patients: first run {times[0]:.3f} s, median "
        f"{statistics.median(times):.3f} s, best {min(times):.3f} s, worst {max(times):.3f} s"
    )
    print(f"cold_start_s={statistics.median(times):.3f}")


if __name__ == "__main__":
    main()
