"""Finding 15: the folder of mails is for development only: in production (switched
off) no secret is written to disk, and in development old mails are removed."""

from __future__ import annotations

import os
import time
from pathlib import Path

from fastapi.testclient import TestClient

from cloud import mailer
from cloud.config import Settings
from cloud.main import create_app
from tests.unit.cloud.support import read_password, register_practice


def test_without_the_development_folder_no_mail_reaches_the_disk(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "cloud", database_url="", mail_folder=False)
    with TestClient(create_app(settings)) as client:
        r = client.post("/api/v1/installations", json={"email": "dr@example.com"})
    assert r.status_code == 502
    assert "mail server" in r.json()["detail"]
    assert not list(tmp_path.rglob("*.eml"))


def test_development_mails_are_removed_after_a_while(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "cloud", database_url="",
                        password_mail_interval_s=0)
    with TestClient(create_app(settings)) as client:
        iid, password = register_practice(client, settings.mail_dir)
        assert read_password(settings.mail_dir, iid) == password
        (old,) = settings.mail_dir.glob("*.eml")
        client.post(f"/api/v1/installations/{iid}/password/resend")
    stale = time.time() - settings.mail_folder_keep_s - 60
    os.utime(old, (stale, stale))
    assert mailer.sweep(settings) == 1
    assert not old.exists() and len(list(settings.mail_dir.glob("*.eml"))) == 1
