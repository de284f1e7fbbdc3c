"""The agent's upload job on one large file, through a link that breaks now and then.

    python bench/agent_upload.py --mb 2048 [--cut-every-mb 300]

A random file of --mb MiB is queued and sent by sync_agent.upload_job (in a child
process, so that its peak RSS is the agent's alone) to a cloud on loopback, through
tests/support/fault_proxy.py, which resets the connection in the middle of a request
body every --cut-every-mb MiB forwarded. The file must arrive whole (its SHA-256 is
checked in the cloud's blob store).
Last line: mb_s=<x> peak_rss_mb=<y> resent_bytes_per_interruption=<z>
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from _cloud_util import ROOT, register, start

MIB = 1024 * 1024


def make_file(path: Path, size: int) -> None:
    with open(path, "wb") as f:
        left = size
        while left:
            block = os.urandom(min(8 * MIB, left))
            f.write(block)
            left -= len(block)


def child(args: argparse.Namespace) -> None:
    """Queue the file and run the upload job until it is done; report as JSON."""
    from keyring.backends import null

    from app.core.ids import new_id
    from app.platform.secrets import SecretStore
    from app.store.db import open_database
    from app.store.sync.uploads_repo import UploadsRepo
    from sync_agent.job import Link
    from sync_agent.upload_job import UploadJob

    token = sys.stdin.readline().strip()
    db = open_database(Path(args.db), SecretStore(null.Keyring()), allow_key_file=True)
    repo = UploadsRepo(db)
    t0 = time.perf_counter()
    sha = repo.enqueue(Path(args.file), new_id(), "cbct")
    queued_s = time.perf_counter() - t0
    job = UploadJob(repo)
    job.link = Link(args.url, token)
    sent = interruptions = runs = 0
    t1 = time.perf_counter()
    while repo.counts().files and runs < 50:
        runs += 1
        try:
            report = job.run()
        except Exception as exc:  # the job gave up for now; the agent would back off
            print(f"run {runs}: {exc}", file=sys.stderr)
            report = job.last_report
        if report is not None:
            sent += report.sent_bytes
            interruptions += report.interruptions
    upload_s = time.perf_counter() - t1
    row = repo.get(sha)
    db.close()
    print(
        json.dumps(
            {
                "sha256": sha,
                "status": row.status if row else None,
                "queued_s": queued_s,
                "upload_s": upload_s,
                "sent_bytes": sent,
                "interruptions": interruptions,
                "runs": runs,
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=int, default=2048)
    parser.add_argument("--cut-every-mb", type=int, default=300)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    from tests.support.fault_proxy import FaultProxy

    size = args.mb * MIB
    with tempfile.TemporaryDirectory(prefix="chairside-bench-") as tmp:
        folder = Path(tmp)
        path = folder / "cbct.bin"
        make_file(path, size)
        cloud = start(folder / "data", {"DATABASE_URL": ""})
        proxy = FaultProxy(int(cloud.url.rsplit(":", 1)[1]), lifetime_s=3600).start()
        try:
            _node, token = register(cloud, requests.Session())
            proxy.cut_every(args.cut_every_mb * MIB)
            env = {
                **os.environ,
                "CHAIRSIDE_CONFIG_DIR": str(folder / "config"),
                "CHAIRSIDE_DATA_DIR": str(folder / "app-data"),
                "PYTHONPATH": str(ROOT),
            }
            done = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--child",
                    "--db",
                    str(folder / "practice.chairside"),
                    "--file",
                    str(path),
                    "--url",
                    proxy.url,
                ],
                input=token + "\n",
                capture_output=True,
                text=True,
                env=env,
                check=False,
            )
            sys.stderr.write(done.stderr[-4000:])
            if done.returncode != 0:
                raise SystemExit(f"the upload process failed ({done.returncode})")
            result = json.loads(done.stdout.strip().splitlines()[-1])
            sha = result["sha256"]
            assert result["status"] == "done", result
            assert cloud.stored_size(sha) == size, "the file did not arrive whole"
            forwarded = proxy.stats.body_up["PATCH"]
            cuts = proxy.stats.periodic_cuts
        finally:
            proxy.stop()
            cloud.stop()
    resent = (forwarded - size) / max(1, cuts)
    mb_s = args.mb / result["upload_s"]
    print(
        f"size={args.mb}MiB queued_s={result['queued_s']:.1f} upload_s={result['upload_s']:.1f} "
        f"interruptions={cuts} job_interruptions={result['interruptions']} "
        f"runs={result['runs']} forwarded={forwarded} resent_total={forwarded - size}"
    )
    print(
        f"mb_s={mb_s:.1f} peak_rss_mb={result['peak_rss_mb']:.1f} "
        f"resent_bytes_per_interruption={resent:.0f}"
    )


if __name__ == "__main__":
    main()
