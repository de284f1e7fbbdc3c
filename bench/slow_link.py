"""An image through a poor line with records flowing meanwhile, the real agent and cloud.

    python bench/slow_link.py --kib-s 16 --mb 2 [--records 20] [--cut]

A cloud on loopback, a PC registered to it, and between them a proxy limited to
--kib-s KiB/s per direction, shared by all connections (tests/support/fault_proxy.py).
The agent's own loop sends a random file of --mb MiB while patients are written on the
PC one after another; --cut breaks the line once mid-chunk.
Last line: completed=… seconds=… ideal_seconds=… resent_bytes=… record_p95_s=…
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from pathlib import Path

import httpx
from _cloud_util import ROOT, start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kib-s", type=float, default=16)
    parser.add_argument("--mb", type=float, default=2)
    parser.add_argument("--records", type=int, default=20)
    parser.add_argument("--cut", action="store_true")
    args = parser.parse_args()

    import keyring

    from app.platform.secrets import SecretStore
    from app.store.db import open_database
    from app.store.services import Store
    from sync_agent import connection
    from sync_agent.runner import Agent
    from tests.support import slow_link
    from tests.support.fault_proxy import Fault, FaultProxy
    from tests.support.memkeyring import MemoryKeyring
    from tests.unit.cloud.support import register_practice

    ring = MemoryKeyring()
    keyring.set_keyring(ring)
    secrets = SecretStore(ring)
    rate = int(args.kib_s * 1024)
    size = int(args.mb * 1024 * 1024)
    with tempfile.TemporaryDirectory(prefix="slow-link-") as tmp:
        folder = Path(tmp)
        os.environ["CHAIRSIDE_CONFIG_DIR"] = str(folder / "config")
        cloud = start(folder / "cloud")
        proxy = FaultProxy(int(cloud.url.rsplit(":", 1)[1]), rate_bps=rate,
                           socket_timeout_s=120, lifetime_s=size / rate * 6 + 300).start()
        try:
            db = open_database(folder / "pc.chairside", secrets)
            store = Store.over(db)
            with httpx.Client(base_url=cloud.url, timeout=30) as http:
                inst, password = register_practice(http, cloud.data / "mail", "slow@example.com")
            connection.register_device(db, secrets, cloud.url, inst, password)
            admin = store.users.create("admin", "Admin", "correct horse", "admin")
            agent = Agent(db, secrets, tick_s=0.05)
            patient = store.patients.create(admin.viewer(), {
                "first_name": "Ada", "last_name": "Slow"}).id
            agent.sync_once(forced=True)
            store.settings.set("server_url", proxy.url)
            image = slow_link.random_file(folder / "cbct.bin", size)
            faults = [Fault("cut", after_bytes=8 * 1024, skip=3)] if args.cut else []
            result = slow_link.run(agent, store, admin, proxy, image, patient, cloud.data,
                                   records=args.records, faults=faults,
                                   limit_s=size / rate * 5 + 120)
            db.close()
        finally:
            proxy.stop()
            cloud.stop()
            shutil.rmtree(folder / "cloud", ignore_errors=True)
    print(f"monotonic_progress={slow_link.monotonic_progress(result.progress)} "
          f"records={len(result.record_latencies)} largest_chunk={result.largest_chunk} "
          f"interruptions={result.interruptions}")
    print(f"completed={result.completed} seconds={result.seconds:.1f} "
          f"ideal_seconds={size / rate:.1f} resent_bytes={result.resent_bytes} "
          f"record_p95_s={result.record_p95():.2f}")


if __name__ == "__main__":
    assert ROOT
    main()
