"""Upload throughput: tus (chunked PATCHes) against one plain streaming PUT.

    python bench/upload.py --mb 200 [--chunk-mb 8]

Both go to the same cloud process on loopback and are written to disk the same way
(cloud.tus.storage.receive); the PUT route exists only with CHAIRSIDE_CLOUD_BENCH_ROUTES.
Last line: tus_mb_s=<x> plain_mb_s=<y> ratio=<x/y>
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import tempfile
import time
from pathlib import Path

import requests
from _cloud_util import register, start

MIB = 1024 * 1024


def make_file(path: Path, size: int) -> str:
    h = hashlib.sha256()
    with open(path, "wb") as f:
        left = size
        while left:
            block = os.urandom(min(8 * MIB, left))
            f.write(block)
            h.update(block)
            left -= len(block)
    return h.hexdigest()


def tus_upload(url: str, token: str, path: Path, sha: str, chunk: int) -> float:
    size = path.stat().st_size
    meta = {
        "sha256": sha,
        "patient_id": "01900000-0000-7000-8000-000000000001",
        "kind": "cbct",
        "filename": "bench.bin",
    }
    header = ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in meta.items())
    auth = {"Authorization": f"Bearer {token}", "Tus-Resumable": "1.0.0"}
    http = requests.Session()
    start_t = time.perf_counter()
    r = http.post(
        url + "/files/", headers={**auth, "Upload-Length": str(size), "Upload-Metadata": header}
    )
    r.raise_for_status()
    location = r.headers["Location"]
    offset = 0
    with open(path, "rb") as f:
        while offset < size:
            n = min(chunk, size - offset)
            r = http.patch(
                location,
                data=f.read(n),
                headers={
                    **auth,
                    "Content-Type": "application/offset+octet-stream",
                    "Upload-Offset": str(offset),
                },
            )
            if r.status_code != 204:
                raise SystemExit(f"PATCH failed: {r.status_code} {r.text}")
            offset = int(r.headers["Upload-Offset"])
    return time.perf_counter() - start_t


def plain_upload(url: str, path: Path) -> float:
    http = requests.Session()
    start_t = time.perf_counter()
    with open(path, "rb") as f:
        r = http.put(url + "/bench/plain/x", data=f)
    r.raise_for_status()
    return time.perf_counter() - start_t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--chunk-mb", type=float, default=8.0, help="tus chunk size (1-8)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="chairside-bench-") as tmp:
        folder = Path(tmp)
        path = folder / "payload.bin"
        size = args.mb * MIB
        sha = make_file(path, size)
        cloud = start(folder / "data", {"CHAIRSIDE_CLOUD_BENCH_ROUTES": "1", "DATABASE_URL": ""})
        try:
            http = requests.Session()
            _node, token = register(cloud, http)
            plain_s = plain_upload(cloud.url, path)
            tus_s = tus_upload(cloud.url, token, path, sha, int(args.chunk_mb * MIB))
            stored = cloud.data / "blobs" / sha[:2] / sha[2:4] / sha
            assert stored.stat().st_size == size, "the tus upload did not arrive whole"
        finally:
            cloud.stop()
    tus_mb_s, plain_mb_s = args.mb / tus_s, args.mb / plain_s
    print(f"size={args.mb}MiB chunk={args.chunk_mb}MiB tus_s={tus_s:.2f} plain_s={plain_s:.2f}")
    print(f"tus_mb_s={tus_mb_s:.1f} plain_mb_s={plain_mb_s:.1f} ratio={tus_mb_s / plain_mb_s:.2f}")


if __name__ == "__main__":
    main()
