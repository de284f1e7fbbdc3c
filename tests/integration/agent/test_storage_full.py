"""The cloud's disk fills up under an agent's upload: the agent says so in words, and
once there is room the image arrives whole."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.integration.agent.conftest import PC
from tests.integration.agent.test_uploads import assert_stored, drain, new_patient, random_file
from tests.integration.cloud.conftest import Server, start_server, stop_server

FLAG = "disk-is-full"


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The agent tests' cloud, whose blob store fails as a full disk does while the
    file FLAG exists beside its data folder."""
    data = tmp_path_factory.mktemp("cloud") / "data"
    srv = start_server(data, {"CHAIRSIDE_CLOUD_TEST_STORAGE_FULL_FLAG": str(data.parent / FLAG)})
    yield srv
    stop_server(srv)


def test_the_agent_says_the_server_is_full_then_the_image_arrives(
        clinic: Callable[[int], list[PC]], cloud: Server, tmp_path: Path) -> None:
    (pc,) = clinic(1)
    pc.agent.upload_job.max_failures = 1  # the server asks for minutes: say it at once
    flag = cloud.data.parent / FLAG
    flag.touch()
    f = random_file(tmp_path, "pano.bin", 700_000)
    sha = pc.agent.uploads.enqueue(f, new_patient(pc), "xray")
    pc.agent.sync_once(forced=True)
    assert pc.agent.last_error is not None
    assert "the server's storage is full" in pc.agent.last_error
    assert "507" not in pc.agent.last_error
    assert pc.repo.outbox_counts()[0] == 0  # records still went up
    assert not [p for p in (cloud.data / "blobs").rglob("*") if p.is_file()]

    flag.unlink()
    drain(pc.agent)
    assert_stored(cloud, f)
    row = pc.agent.uploads.get(sha)
    assert row is not None and row.status == "done"
    assert pc.agent.last_error is None
