"""Push throughput: patient mutations in full batches to a cloud on loopback.

    python bench/push.py --mutations 100000 [--database-url postgresql+psycopg://...]

Last line: mutations_per_s=<x>
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import requests
from _cloud_util import register, start

from app.core.ids import new_id
from app.core.wire import MAX_BATCH_BYTES, MAX_BATCH_MUTATIONS


def batches(node: str, total: int, size: int) -> list[bytes]:
    wall = int(time.time() * 1000) - 10_000_000
    out: list[bytes] = []
    current: list[dict[str, object]] = []
    for i in range(total):
        stamp = f"{wall + i:013d}-0000-{node}"
        fields = {
            "first_name": f"Patient {i}",
            "last_name": "Bench",
            "gender": "female",
            "mobile": f"050{i:07d}",
            "birth_date": "1980-01-01",
        }
        current.append(
            {
                "id": new_id(),
                "entity": "patient",
                "entity_id": new_id(),
                "node": node,
                "fields": fields,
                "hlc": dict.fromkeys(fields, stamp),
            }
        )
        if len(current) == size:
            out.append(json.dumps({"mutations": current}).encode())
            current = []
    if current:
        out.append(json.dumps({"mutations": current}).encode())
    assert all(len(b) <= MAX_BATCH_BYTES for b in out)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mutations", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=MAX_BATCH_MUTATIONS)
    parser.add_argument("--database-url", default="", help="default: SQLite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="chairside-bench-") as tmp:
        cloud = start(Path(tmp) / "data", {"DATABASE_URL": args.database_url})
        try:
            http = requests.Session()
            node, token = register(cloud, http)
            bodies = batches(node, args.mutations, args.batch)
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            t0 = time.perf_counter()
            for body in bodies:
                r = http.post(cloud.url + "/api/v1/push", data=body, headers=headers)
                if r.status_code != 200:
                    raise SystemExit(f"push failed: {r.status_code} {r.text[:300]}")
            elapsed = time.perf_counter() - t0
            last = r.json()["last_seq"]
            assert last == args.mutations, f"expected {args.mutations} changes, got {last}"
        finally:
            cloud.stop()
    print(
        f"batches={len(bodies)} batch_size={args.batch} seconds={elapsed:.2f} "
        f"backend={'postgresql' if args.database_url else 'sqlite'}"
    )
    print(f"mutations_per_s={args.mutations / elapsed:.0f}")


if __name__ == "__main__":
    main()
