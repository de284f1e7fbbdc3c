"""Upload throughput, side by side in one run: our tus client, tus-js-client (the
reference client, when Node.js is there) and one plain streaming PUT.

    python bench/upload.py --mb 200 [--chunk-mb 8] [--rounds 3]

All three go to the same cloud process on loopback and end in the same place: a blob
sealed at rest in the folder blob store (AES-256-GCM segments, app.platform.sealed),
fsynced, named by its SHA-256.

- ours: sync_agent.tus_client as the agent drives it (a CRC-32 per chunk, hashed
  ahead on a worker while the chunk before is sent; the whole file's SHA-256 is checked
  by the server on the last byte, as for every upload); the server seals each segment as
  it arrives, starts writing it back on the way, fsyncs with the last PATCH (the
  segments are authenticated, so after a power cut the offset is what verifies and the
  client sends the rest again) and moves the finished part into the store by a rename.
- js: tus-js-client at the same chunk size, no checksums; its time includes starting
  Node.js and reading the file into memory (about a tenth of a second).
- plain: one PUT of the whole file (route only with CHAIRSIDE_CLOUD_BENCH_ROUTES): read,
  hashed and sealed into the store a megabyte at a time, one fsync, one rename — no
  protocol, no resume, no per-chunk checksum. It is the floor of the store's own cost,
  so plain_ratio says what resumability costs on top.

Each client sends files of its own (the cloud stores bytes it holds only once, so a
shared file would spare all but the first the final store). The variants run `rounds`
times, interleaved, on a machine others may load: every run prints its wall time and
the CPU time it cost (the cloud process's and the client's), and the figures are
medians. Last line: ours_mb_s=… js_mb_s=… plain_mb_s=… ratio=<ours/js>
plain_ratio=<ours/plain>
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import requests
from _cloud_util import Cloud, register, start

MIB = 1024 * 1024
META = {"patient_id": "01900000-0000-7000-8000-000000000001", "kind": "cbct",
        "filename": "bench.bin"}


def make_file(base: Path, path: Path) -> str:
    """A copy of `base` whose first bytes are new (so a SHA-256 of its own)."""
    shutil.copyfile(base, path)
    with open(path, "r+b") as f:
        f.write(os.urandom(4096))
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(8 * MIB):
            h.update(block)
    return h.hexdigest()


def ours_upload(url: str, token: str, path: Path, sha: str, chunk: int) -> None:
    from sync_agent.tus_client import FileSlice, TusClient

    size = path.stat().st_size
    tus = TusClient(url, token)
    fd = os.open(path, os.O_RDONLY)
    try:
        created = tus.create(size, {"sha256": sha, **META})
        offset = created.offset
        while offset < size:
            n = min(chunk, size - offset)
            body = FileSlice(fd, offset, n, block=MIB)  # a fast line: large send blocks
            after = min(chunk, size - offset - n)
            offset = tus.patch(
                created.url, body, final=offset + n == size, speed=1e9, next_length=after
            )
    finally:
        os.close(fd)
        tus.close()


def js_upload(url: str, token: str, path: Path, sha: str, chunk: int) -> None:
    from tests.integration.cloud.test_tus_clients import _npm_dir

    folder = _npm_dir()
    assert folder is not None
    meta = {"sha256": sha, **META, "filename": "bench-js.bin"}
    out = subprocess.run(["node", str(folder / "upload.js"), url + "/files/", token, str(path),
                          json.dumps(meta), str(chunk)], capture_output=True, text=True,
                         timeout=3600, check=True).stdout
    if "done" not in out:
        raise SystemExit(f"tus-js-client failed: {out}")


def plain_upload(url: str, token: str, path: Path, sha: str, chunk: int) -> None:
    with requests.Session() as http, open(path, "rb") as f:
        r = http.put(url + "/bench/plain/x", data=f)
    r.raise_for_status()
    assert r.headers["X-Sha256"] == sha


def _server_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _client_cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def measure(cloud: Cloud, run: Callable[[], None]) -> tuple[float, float, float]:
    """(wall s, cloud CPU s, client CPU s) of one upload."""
    server0, client0, t0 = _server_cpu(cloud.proc.pid), _client_cpu(), time.perf_counter()
    run()
    wall = time.perf_counter() - t0
    return wall, _server_cpu(cloud.proc.pid) - server0, _client_cpu() - client0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--chunk-mb", type=float, default=8.0, help="tus chunk size")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    uploads: dict[str, Callable[[str, str, Path, str, int], None]] = {
        "ours": ours_upload, "js": js_upload, "plain": plain_upload}
    try:
        from tests.integration.cloud.test_tus_clients import _npm_dir

        has_js = _npm_dir() is not None
    except ImportError:
        has_js = False
    if not has_js:
        del uploads["js"]
    figures: dict[str, list[tuple[float, float, float]]] = {who: [] for who in uploads}
    with tempfile.TemporaryDirectory(prefix="chairside-bench-") as tmp:
        folder = Path(tmp)
        size = args.mb * MIB
        base = folder / "base.bin"
        with open(base, "wb") as f:
            for _ in range(args.mb):
                f.write(os.urandom(MIB))
        cloud = start(folder / "data", {"CHAIRSIDE_CLOUD_BENCH_ROUTES": "1", "DATABASE_URL": ""})
        try:
            _node, token = register(cloud, requests.Session())
            chunk = int(args.chunk_mb * MIB)
            names = list(uploads)
            for round_ in range(args.rounds):
                for who in names[round_ % len(names):] + names[:round_ % len(names)]:
                    path = folder / f"{who}-{round_}.bin"
                    sha = make_file(base, path)
                    wall, server, client = measure(cloud, lambda who=who, path=path, sha=sha:
                                                   uploads[who](cloud.url, token, path, sha,
                                                                chunk))
                    assert cloud.stored_size(sha) == size, f"{who}'s upload did not arrive"
                    path.unlink()
                    (cloud.data / "blobs" / sha[:2] / sha[2:4] / sha).unlink()
                    figures[who].append((wall, server, client))
                    print(f"round={round_} {who}: wall_s={wall:.2f} mb_s={args.mb / wall:.1f} "
                          f"cloud_cpu_s={server:.2f} client_cpu_s={client:.2f}", flush=True)
        finally:
            cloud.stop()
    med = {who: tuple(statistics.median(f[i] for f in runs) for i in range(3))
           for who, runs in figures.items()}
    for who, (wall, server, client) in med.items():
        print(f"median {who}: wall_s={wall:.2f} cloud_cpu_s={server:.2f} "
              f"client_cpu_s={client:.2f}")
    speed = {who: args.mb / m[0] for who, m in med.items()}
    ours, plain = speed["ours"], speed["plain"]
    js = speed.get("js", float("nan"))
    print(f"size={args.mb}MiB chunk={args.chunk_mb}MiB rounds={args.rounds} (medians; plain: "
          "one PUT sealed into the same store, no resume, no checksum per chunk)")
    print(f"ours_mb_s={ours:.1f} js_mb_s={js:.1f} plain_mb_s={plain:.1f} "
          f"ratio={ours / js:.2f} plain_ratio={ours / plain:.2f}")


if __name__ == "__main__":
    main()
