"""The data download's password between scheduling and the night: sealed under the
server's master key, bound to its row, still opened after the key is replaced while the
old one is kept among the old keys."""

from __future__ import annotations

import base64
import secrets
from pathlib import Path

import pytest

from cloud.config import Settings
from cloud.export import seal


def _key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def test_sealed_password_survives_a_new_master_key(tmp_path: Path) -> None:
    old, new = _key(), _key()
    before = Settings(data_dir=tmp_path, blob_key=old)
    box = seal.seal(before, "Zahn-Ärztin 2026!", "download-1")
    assert "Zahn" not in box and "2026" not in box
    assert seal.unseal(before, box, "download-1") == "Zahn-Ärztin 2026!"
    with pytest.raises(ValueError):
        seal.unseal(before, box, "download-2")  # moved to another row
    after = Settings(data_dir=tmp_path, blob_key=new, blob_old_keys=f"{_key()},{old}")
    assert seal.unseal(after, box, "download-1") == "Zahn-Ärztin 2026!"
    with pytest.raises(ValueError):
        seal.unseal(Settings(data_dir=tmp_path, blob_key=new), box, "download-1")
