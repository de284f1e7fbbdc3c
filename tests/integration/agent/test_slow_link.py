"""A rural clinic's line: the agent's own loop sends an image through a proxy limited to
a few KiB/s, shared by every connection, while patients are written on the PC. The
image arrives whole, an interruption costs at most one chunk, every record reaches
the cloud within seconds meanwhile, and the progress shown never goes back.

By default a 512 KiB image at 64 and 16 KiB/s (about a minute in all), and at 16 KiB/s
with random one-second stalls and a 10 s blackhole; CHAIRSIDE_SLOW_LINK_MB=2 sends the
2 MB of the field report, CHAIRSIDE_SLOW_LINK_4K=1 adds the 4 KiB/s line (many
minutes), CHAIRSIDE_SLOW_LINK_BLACKHOLE_S=60 makes the blackhole a minute long.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from app.store.settings_repo import SettingsRepo
from tests.integration.agent.conftest import PC
from tests.integration.agent.test_uploads import new_patient
from tests.integration.cloud.conftest import Server
from tests.support import slow_link
from tests.support.fault_proxy import Fault, FaultProxy

KIB = 1024
SIZE = int(float(os.environ.get("CHAIRSIDE_SLOW_LINK_MB", "0.5")) * 1024 * KIB)
RATES = [64, 16] + ([4] if os.environ.get("CHAIRSIDE_SLOW_LINK_4K") else [])
BLACKHOLE_S = float(os.environ.get("CHAIRSIDE_SLOW_LINK_BLACKHOLE_S", "10"))


@pytest.mark.parametrize("kib_s", RATES, ids=[f"{r}KiB/s" for r in RATES])
def test_an_image_completes_on_a_poor_line_and_records_keep_flowing(
    clinic: Callable[[int], list[PC]], cloud: Server, tmp_path: Path, kib_s: int
) -> None:
    (pc,) = clinic(1)
    patient = new_patient(pc)
    pc.sync()
    port = int(cloud.url.rsplit(":", 1)[1])
    with FaultProxy(port, rate_bps=kib_s * KIB, socket_timeout_s=120,
                    lifetime_s=SIZE / (kib_s * KIB) * 4 + 120) as proxy:
        SettingsRepo(pc.store.db).set("server_url", proxy.url)
        image = slow_link.random_file(tmp_path / "cbct.bin", SIZE)
        # The line breaks once in the middle of a chunk, some way into the file.
        cut = Fault("cut", after_bytes=8 * KIB, skip=3)
        result = slow_link.run(pc.agent, pc.store, pc.admin, proxy, image, patient,
                               cloud.data, records=20, faults=[cut])

    assert result.completed, f"not stored after {result.seconds:.0f} s"
    assert result.interruptions == 1, "the cut never struck"
    assert 0 <= result.resent_bytes <= result.largest_chunk, (
        f"{result.resent_bytes} bytes sent again for one interruption")
    assert len(result.record_latencies) >= 3, "too few records written during the upload"
    slowest = max(result.record_latencies)
    assert slowest < 10, f"a record took {slowest:.1f} s to reach the cloud"
    assert slow_link.monotonic_progress(result.progress), "the progress shown went back"
    words = [p.text for p in result.progress if p.text]
    assert any("KB/s" in w and " of " in w and "left" in w for w in words), words[-3:]
    row = pc.agent.uploads.list_uploads(patient_id=patient)[0]
    assert (row.status, row.last_error) == ("done", None)


def test_stalls_and_a_blackhole_are_said_in_words_and_the_image_completes(
    clinic: Callable[[int], list[PC]], cloud: Server, tmp_path: Path
) -> None:
    (pc,) = clinic(1)
    patient = new_patient(pc)
    pc.sync()
    # "For minutes" in the field; here half the blackhole, so that the words show.
    pc.agent.upload_job.stalled_after_s = BLACKHOLE_S / 2

    def weather(proxy: FaultProxy, done: threading.Event) -> None:
        rnd = random.Random(24)
        began, dark = time.monotonic(), False
        while not done.is_set():
            if not dark and time.monotonic() - began > 8:
                dark = True
                proxy.darken(BLACKHOLE_S)
                done.wait(BLACKHOLE_S)
                continue
            done.wait(rnd.uniform(2, 5))
            proxy.darken(1)

    port = int(cloud.url.rsplit(":", 1)[1])
    with FaultProxy(port, rate_bps=16 * KIB, socket_timeout_s=120,
                    lifetime_s=SIZE / (16 * KIB) * 4 + BLACKHOLE_S * 4 + 120) as proxy:
        SettingsRepo(pc.store.db).set("server_url", proxy.url)
        image = slow_link.random_file(tmp_path / "cbct.bin", SIZE // 2)
        result = slow_link.run(pc.agent, pc.store, pc.admin, proxy, image, patient,
                               cloud.data, records=3, weather=weather)

    assert result.completed, f"not stored after {result.seconds:.0f} s"
    assert slow_link.monotonic_progress(result.progress), "the progress shown went back"
    words = [p.text or "" for p in result.progress]
    assert any("the connection is too slow or keeps dropping" in w and "sent, retrying" in w
               for w in words), words[-5:]
    row = pc.agent.uploads.list_uploads(patient_id=patient)[0]
    assert (row.status, row.last_error) == ("done", None)
