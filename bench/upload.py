"""Upload throughput, side by side in one run: our tus client, tus-js-client (the
reference client, when Node.js is there) and one plain streaming PUT.

    python bench/upload.py --mb 200 [--chunk-mb 8]

All go to the same cloud process on loopback and are written to disk the same way
(cloud.tus.storage.receive); the PUT route exists only with CHAIRSIDE_CLOUD_BENCH_ROUTES.
Our client (sync_agent.tus_client, checksummed chunks) and tus-js-client use the same
chunk size; each tus client sends a file of its own, so each pays the final store
(the verified file sealed into the blob store), which the plain PUT does not do.
Last line: ours_mb_s=… js_mb_s=… plain_mb_s=… ratio=<ours/js>
plain_ratio=<ours/plain>
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import urljoin

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
    location = urljoin(url + "/files/", r.headers["Location"])
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


META = {"patient_id": "01900000-0000-7000-8000-000000000001", "kind": "cbct",
        "filename": "bench.bin"}


def ours_upload(url: str, token: str, path: Path, sha: str, chunk: int) -> float:
    from sync_agent.tus_client import FileSlice, TusClient

    size = path.stat().st_size
    tus = TusClient(url, token)
    fd = os.open(path, os.O_RDONLY)
    start_t = time.perf_counter()
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
    return time.perf_counter() - start_t


def js_upload(url: str, token: str, path: Path, sha: str, chunk: int) -> float | None:
    try:
        from tests.integration.cloud.test_tus_clients import _npm_dir
    except ImportError:
        return None
    folder = _npm_dir()
    if folder is None:
        return None
    meta = {"sha256": sha, **META, "filename": "bench-js.bin"}
    start_t = time.perf_counter()
    out = subprocess.run(["node", str(folder / "upload.js"), url + "/files/", token, str(path),
                          json.dumps(meta), str(chunk)], capture_output=True, text=True,
                         timeout=3600, check=True).stdout
    if "done" not in out:
        raise SystemExit(f"tus-js-client failed: {out}")
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
        size = args.mb * MIB
        # Each tus client sends bytes of its own: the cloud stores a file it already
        # holds no second time, so a shared payload would spare every client but the
        # first the final store (sealing the whole file into the blob store).
        files = {who: folder / f"{who}.bin" for who in ("ours", "js", "bare")}
        shas = {who: make_file(path, size) for who, path in files.items()}
        cloud = start(folder / "data", {"CHAIRSIDE_CLOUD_BENCH_ROUTES": "1", "DATABASE_URL": ""})
        try:
            http = requests.Session()
            _node, token = register(cloud, http)
            chunk = int(args.chunk_mb * MIB)
            ours_s = ours_upload(cloud.url, token, files["ours"], shas["ours"], chunk)
            assert cloud.stored_size(shas["ours"]) == size, "our upload did not arrive whole"
            plain_s = plain_upload(cloud.url, files["ours"])
            js_s = js_upload(cloud.url, token, files["js"], shas["js"], chunk)
            if js_s is not None:
                assert cloud.stored_size(shas["js"]) == size, "tus-js-client's did not arrive"
            raw_s = tus_upload(cloud.url, token, files["bare"], shas["bare"], chunk)
        finally:
            cloud.stop()
    ours, plain, raw = args.mb / ours_s, args.mb / plain_s, args.mb / raw_s
    js = args.mb / js_s if js_s else float("nan")
    print(f"size={args.mb}MiB chunk={args.chunk_mb}MiB ours_s={ours_s:.2f} "
          f"js_s={js_s or float('nan'):.2f} plain_s={plain_s:.2f} "
          f"bare_requests_mb_s={raw:.1f}")
    print(f"ours_mb_s={ours:.1f} js_mb_s={js:.1f} plain_mb_s={plain:.1f} "
          f"ratio={ours / js:.2f} plain_ratio={ours / plain:.2f}")


if __name__ == "__main__":
    main()
