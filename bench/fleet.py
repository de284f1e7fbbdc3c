"""A fleet under load: N practices, each with 2 PCs pushing records and small images at
once, to K cloud processes on one PostgreSQL database (sharing one data folder), for
K=1 and K=2 in the same run.

    python bench/fleet.py --database-url postgresql+psycopg://chairside:chairside@127.0.0.1:5432/chairside_test
    python bench/fleet.py --practices 50 --rounds 10 --processes 1,2

Each PC is a thread talking to "its" process (PCs are spread over the processes, as a
load balancer would) and doing `rounds` times: push a batch of records, upload one image
(tus creation-with-upload). A fresh database is made for each K and dropped after.
Last line: mutations_per_s=… push_p95_ms=… upload_mb_s=… errors=… of the largest K and
scaling= (its mutations_per_s over the smallest K's); a line per K before it.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import requests
from _cloud_util import Cloud, start
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.core.ids import new_id


def _meta(**values: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


def _batch(node: str, n: int, wall: int) -> bytes:
    muts = []
    for i in range(n):
        stamp = f"{wall + i:013d}-0000-{node}"
        fields = {"first_name": f"Patient {i}", "last_name": "Fleet", "gender": "female"}
        muts.append({"id": new_id(), "entity": "patient", "entity_id": new_id(), "node": node,
                     "fields": fields, "hlc": dict.fromkeys(fields, stamp)})
    return json.dumps({"mutations": muts}).encode()


class Tally:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.push_ms: list[float] = []
        self.mutations = 0
        self.upload_bytes = 0
        self.errors = 0


def pc_work(url: str, node: str, token: str, args: argparse.Namespace, tally: Tally,
            go: threading.Event) -> None:
    http = requests.Session()
    auth = {"Authorization": f"Bearer {token}"}
    wall = int(time.time() * 1000) - 10_000_000
    go.wait()
    for r in range(args.rounds):
        body = _batch(node, args.batch, wall + r * args.batch)
        t0 = time.perf_counter()
        try:
            ok = http.post(url + "/api/v1/push", data=body, timeout=120,
                           headers={**auth, "Content-Type": "application/json"}).ok
        except requests.RequestException:
            ok = False
        took = (time.perf_counter() - t0) * 1000
        image = os.urandom(args.image_kib * 1024)
        try:
            up = http.post(url + "/files/", data=image, timeout=120, headers={
                **auth, "Tus-Resumable": "1.0.0", "Upload-Length": str(len(image)),
                "Content-Type": "application/offset+octet-stream",
                "Upload-Metadata": _meta(sha256=hashlib.sha256(image).hexdigest(),
                                         patient_id=new_id(), kind="intraoral_photo",
                                         filename="p.jpg")})
            uploaded = up.status_code == 201 and up.headers.get("Upload-Offset") == str(
                len(image))
        except requests.RequestException:
            uploaded = False
        with tally.lock:
            tally.push_ms.append(took)
            tally.mutations += args.batch if ok else 0
            tally.upload_bytes += len(image) if uploaded else 0
            tally.errors += (not ok) + (not uploaded)


def run(k: int, base_url: str, args: argparse.Namespace) -> str:
    name = f"fleet_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(base_url).set(database=name).render_as_string(hide_password=False)
    clouds: list[Cloud] = []
    with tempfile.TemporaryDirectory(prefix="chairside-fleet-") as tmp:
        try:
            env = {"DATABASE_URL": url, "CHAIRSIDE_CLOUD_PASSWORD_MAIL_INTERVAL_S": "0"}
            for _ in range(k):  # one after the other: the first makes the key files
                clouds.append(start(Path(tmp) / "data", env))
            http = requests.Session()
            pcs = []
            for p in range(args.practices):
                pcs += _practice(clouds[p % k], http, p)
            tally, go = Tally(), threading.Event()
            threads = [threading.Thread(target=pc_work, daemon=True,
                                        args=(clouds[i % k].url, node, token, args, tally, go))
                       for i, (node, token) in enumerate(pcs)]
            for t in threads:
                t.start()
            t0 = time.perf_counter()
            go.set()
            for t in threads:
                t.join()
            elapsed = time.perf_counter() - t0
        finally:
            for c in clouds:
                c.stop()
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    p95 = statistics.quantiles(tally.push_ms, n=20)[-1] if len(tally.push_ms) > 1 else 0.0
    return (f"mutations_per_s={tally.mutations / elapsed:.0f} push_p95_ms={p95:.0f} "
            f"upload_mb_s={tally.upload_bytes / elapsed / 1e6:.2f} errors={tally.errors}")


def _practice(cloud: Cloud, http: requests.Session, n: int) -> list[tuple[str, str]]:
    """(node, token) of the two PCs of a new practice. Each practice comes from an
    address of its own (as through a load balancer), which the registration throttle
    counts apart."""
    import re

    where = {"X-Forwarded-For": f"10.{n // 250}.{n % 250}.1"}
    r = http.post(cloud.url + "/api/v1/installations", headers=where,
                  json={"email": f"fleet{n}@example.com"})
    r.raise_for_status()
    iid = r.json()["installation_id"]
    password = ""
    for path in (cloud.data / "mail").glob("*.eml"):
        text = path.read_text()
        if f"Installation ID: {iid}" in text:
            password = re.search(r"Upload password: (\S+)", text).group(1)  # type: ignore[union-attr]
    pcs = []
    for name in ("front desk", "surgery"):
        node = os.urandom(8).hex()
        r = http.post(f"{cloud.url}/api/v1/installations/{iid}/devices", headers=where,
                      json={"upload_password": password, "node": node, "name": name})
        r.raise_for_status()
        pcs.append((node, r.json()["token"]))
    return pcs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--database-url", default=os.environ.get("CHAIRSIDE_TEST_PG_URL", ""),
                    help="a PostgreSQL server's URL (a database is made there per K)")
    ap.add_argument("--practices", type=int, default=50)
    ap.add_argument("--processes", default="1,2", help="the values of K, comma-separated")
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--batch", type=int, default=50, help="records per push")
    ap.add_argument("--image-kib", type=int, default=64)
    args = ap.parse_args()
    if not args.database_url.startswith("postgresql"):
        sys.exit("--database-url must name a PostgreSQL server (scripts/postgres.sh)")
    print(f"cores={os.cpu_count()} practices={args.practices} pcs={2 * args.practices} "
          f"rounds={args.rounds} batch={args.batch} image_kib={args.image_kib}")
    rates = []
    line = ""
    for k in (int(x) for x in args.processes.split(",")):
        line = run(k, args.database_url, args)
        rates.append(float(line.split()[0].split("=")[1]))
        print(f"K={k} {line}", flush=True)
    print(f"{line} scaling={rates[-1] / max(rates[0], 1):.2f}")


if __name__ == "__main__":
    main()
