"""deploy/ names only settings the cloud has, and its example works as a configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from cloud.config import Settings

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"


def _example() -> dict[str, str]:
    pairs = [line.split("=", 1) for line in (DEPLOY / "cloud.env.example").read_text()
             .splitlines() if line and not line.startswith("#")]
    return {k: v for k, v in pairs}


def test_every_setting_of_the_example_is_one_of_the_clouds() -> None:
    names = {k.removeprefix("CHAIRSIDE_CLOUD_").lower() for k in _example()
             if k.startswith("CHAIRSIDE_CLOUD_")}
    assert names and names <= set(Settings.model_fields), names - set(Settings.model_fields)


def test_the_example_reads_as_a_deployed_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in _example().items():
        monkeypatch.setenv(k, v)
    s = Settings()
    assert (s.blob_store, s.log_format, s.mail_folder) == ("s3", "json", False)
    assert s.public_base == "https://cloud.example.org"
