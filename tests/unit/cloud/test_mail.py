"""Mail through a real SMTP server (aiosmtpd on loopback)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from email import message_from_bytes
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from cloud.config import Settings
from cloud.jobs.models import Job
from cloud.main import create_app
from tests.support.smtp_inbox import Inbox, smtp_server
from tests.support.waiting import wait_until


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    with smtp_server() as running:
        yield running


def test_registration_mail_goes_through_smtp(tmp_path: Path, smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    settings = Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path}/c.db",
                        smtp_host="127.0.0.1", smtp_port=port, smtp_security="none",
                        smtp_from="Chairside <cloud@example.com>")
    with TestClient(create_app(settings)) as client:
        r = client.post("/api/v1/installations", json={"email": "dr@example.com"})
        assert r.status_code == 201
    (mail_from, rcpt, content) = inbox.messages[0]
    assert rcpt == ["dr@example.com"] and mail_from == "cloud@example.com"
    msg = message_from_bytes(content)
    assert r.json()["installation_id"] in msg.get_payload()
    assert not (tmp_path / "mail").exists()


def test_unreachable_smtp_leaves_no_installation(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    settings = Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path}/c.db",
                        smtp_host="127.0.0.1", smtp_port=dead, smtp_security="none")
    with TestClient(create_app(settings)) as client:
        r = client.post("/api/v1/installations", json={"email": "dr@example.com"})
        assert r.status_code == 502 and "mail server" in r.json()["detail"]
        with client.app.state.sessionmaker() as session:  # type: ignore[attr-defined]
            from cloud.models import Installation
            assert session.query(Installation).count() == 0


def test_a_mail_the_server_wants_later_is_delivered_by_a_job(
        tmp_path: Path, smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    inbox.greylist = 3  # the request's try and the job's first two
    settings = Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path}/c.db",
                        smtp_host="127.0.0.1", smtp_port=port, smtp_security="none",
                        job_poll_s=0.05, job_retry_base_s=0.3)
    with TestClient(create_app(settings)) as client:
        r = client.post("/api/v1/installations", json={"email": "dr@example.com"})
        assert r.status_code == 201
        maker = client.app.state.sessionmaker  # type: ignore[attr-defined]

        def mail_jobs() -> list[Job]:
            with maker() as session:
                return list(session.scalars(select(Job).where(Job.kind == "mail.deliver")))

        (queued,) = mail_jobs()
        assert "Upload password" not in json.dumps(queued.payload)  # sealed while it waits
        wait_until(lambda: mail_jobs()[0].status == "succeeded")
    (job,) = mail_jobs()
    assert job.attempts == 3 and job.payload == {}  # nothing of it kept once sent
    (_sender, rcpt, content) = inbox.messages[0]
    assert rcpt == ["dr@example.com"] and len(inbox.messages) == 1
    assert r.json()["installation_id"] in message_from_bytes(content).get_payload()
