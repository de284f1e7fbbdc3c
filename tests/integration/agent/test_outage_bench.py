"""The week-offline benchmark at a tiny size: two PCs edit offline (some fields of the
same patients on both), file images, and after the link returns every PC and the cloud
hold the same records, images and conflict list, with nothing lost. The run is traced
(bench/_pc_trace.py), as one looking for where the time goes would run it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_two_pcs_a_day_offline_converge_with_the_conflicts_their_edits_made(
    tmp_path: Path,
) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "outage.py"), "--pcs", "2", "--days", "1",
         "--changes-per-day", "40", "--images-per-day", "2", "--image-mb", "0.1",
         "--shared-per-day", "4"],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "CHAIRSIDE_BENCH_TRACE": str(tmp_path)},
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    assert not [line for line in lines if line.startswith("PROBLEM:")], done.stdout
    summary = dict(re.findall(r"(\w+)=(\S+)", lines[-2]))
    last = dict(re.findall(r"(\w+)=(\S+)", lines[-1]))
    assert last["lost"] == "0"
    assert int(summary["expected_conflicts"]) >= 1
    assert last["conflicts"] == summary["expected_conflicts"]
    assert summary["images"] == "4" and int(summary["records"]) > 20

    # Each PC's trace says how long its pushes, pulls and uploads took, and when.
    traced = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "_pc_trace.py"), str(tmp_path)],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True,
    ).stdout.splitlines()
    assert [line.split(":")[0] for line in traced] == ["pc0", "pc1"]
    for line in traced:
        parts = dict(re.findall(r"(\w+)=(\d+)x", line))
        assert int(parts["push_all_unless_locked"]) >= 1 and int(parts["pull_all"]) >= 1
        assert int(parts["apply_remote"]) >= 1 and int(parts["upload_slice"]) >= 1
