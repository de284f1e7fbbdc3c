"""Images and records travel side by side: after days offline the images do not wait
for a long outbox to be pushed, and a change written while a large image goes up
reaches the cloud without waiting for the image."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from app.store.models import Visit
from sync_agent.client import CloudClient
from sync_agent.push_job import BATCH
from sync_agent.tus_client import TusClient
from tests.integration.agent.conftest import PC
from tests.integration.agent.test_uploads import (
    KIB,
    MIB,
    assert_stored,
    fixed_chunks,
    new_patient,
    random_file,
)
from tests.integration.cloud.conftest import Server

# Long enough to tell "went meanwhile" from "waited for the other": the thing waited for
# arrives within a second or two when the two travel side by side.
PATIENCE_S = 30.0


def on_cloud(cloud: Server, entity_id: str) -> bool:
    with sqlite3.connect(cloud.data / "cloud.sqlite3") as conn:
        return conn.execute("SELECT 1 FROM records WHERE entity_id = ?", (entity_id,)).fetchone() \
            is not None


def test_images_go_up_before_a_long_outbox_is_pushed(
    clinic: Callable[[int], list[PC]], cloud: Server, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (pc,) = clinic(1)
    patient = new_patient(pc)
    with pc.store.db.write() as s:  # a week's visits, several push batches long
        for i in range(2 * BATCH + 100):
            s.add(Visit(patient_id=patient, visit_date="2026-03-02", name=f"Visit {i}"))
    image = random_file(tmp_path, "photo.bin", 300 * KIB)
    sha = pc.agent.uploads.enqueue(image, patient, "intraoral_photo")
    landed = threading.Event()
    mark_done = pc.agent.uploads.mark_done

    def done(upload_id: int) -> None:
        mark_done(upload_id)
        landed.set()

    pc.agent.uploads.mark_done = done  # type: ignore[method-assign]
    seen: list[tuple[bool, int]] = []  # (image there, changes still waiting) per batch
    push_raw = CloudClient.push_raw

    def held_push(self: CloudClient, raws: list[bytes]) -> dict[str, Any]:
        if not seen:  # the first batch waits for the image, if the image goes meanwhile
            landed.wait(PATIENCE_S)
        seen.append((landed.is_set(), pc.repo.outbox_counts()[0]))
        return push_raw(self, raws)

    monkeypatch.setattr(CloudClient, "push_raw", held_push)
    pc.sync()

    assert seen[0][0], "the image waited for the outbox"
    assert seen[0][1] > 2 * BATCH  # and nothing of the outbox had gone yet
    assert len(seen) >= 3  # the outbox really was several batches long
    assert pc.repo.outbox_counts() == (0, 0) and on_cloud(cloud, patient)
    assert_stored(cloud, image)
    row = pc.agent.uploads.get(sha)
    assert row is not None and row.status == "done"


def test_a_change_reaches_the_cloud_while_a_large_image_goes_up(
    clinic: Callable[[int], list[PC]], cloud: Server, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (pc,) = clinic(1)
    patient = new_patient(pc)
    pc.sync()
    image = random_file(tmp_path, "cbct.bin", 4 * MIB)
    pc.agent.uploads.enqueue(image, patient, "cbct")
    fixed_chunks(pc.agent, 512 * KIB)
    written: list[str] = []
    arrived = threading.Event()
    patch = TusClient.patch

    def held_patch(self: TusClient, *args: Any, **kwargs: Any) -> int:
        if not written:  # the image is under way: a patient is written at the desk,
            written.append(new_patient(pc))
            waited = 0.0  # and the upload does not go on until the cloud has it
            while waited < PATIENCE_S and not on_cloud(cloud, written[0]):
                arrived.wait(0.1)
                waited += 0.1
            if on_cloud(cloud, written[0]):
                arrived.set()
        return patch(self, *args, **kwargs)

    monkeypatch.setattr(TusClient, "patch", held_patch)
    pc.sync()

    assert written and arrived.is_set(), "the change waited for the image"
    assert_stored(cloud, image)
    assert pc.repo.outbox_counts() == (0, 0)
