"""HTTPS end to end: the cloud serves TLS with a certificate of a test authority
(trustme); the agent and the desktop's server calls verify it and refuse one they can
not trust, in words; the portal's cookies and HSTS header over HTTPS."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from app.platform.secrets import SecretStore
from sync_agent.client import UNVERIFIED, TransientError
from sync_agent.server_service import ServerAdmin
from tests.conftest import _KEYRING
from tests.integration.agent.conftest import PC, new_pc
from tests.integration.cloud.conftest import Server, stop_server
from tests.support.tls import CA_ENV, another_authority, start_https_server
from tests.unit.cloud.portal.support import ADMIN_PW, doctor_login, seed
from tests.unit.cloud.support import register_pc, register_practice


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The agent tests' cloud, serving HTTPS for 127.0.0.1 only, trusted on "this
    computer" through its certificate authority."""
    srv, ca = start_https_server(tmp_path_factory.mktemp("tls"))
    saved = {k: os.environ.get(k) for k in CA_ENV}
    os.environ.update(dict.fromkeys(CA_ENV, str(ca)))
    yield srv
    stop_server(srv)
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def _trust_only_another_authority(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """As when someone sits in between: this computer trusts another authority only."""
    other = another_authority(folder)
    for k in CA_ENV:
        monkeypatch.setenv(k, str(other))


def test_the_agent_syncs_over_https(clinic: Callable[[int], list[PC]], cloud: Server) -> None:
    assert cloud.url.startswith("https://")
    a, b = clinic(2)  # registered and synced once over HTTPS
    pid = a.store.patients.create(a.admin.viewer(), {"first_name": "Tls", "last_name": "Ok"}).id
    a.sync()
    b.sync()
    assert b.store.patients.get(b.admin.viewer(), pid).get("first_name") == "Tls"


def test_a_certificate_not_to_be_trusted_is_refused_in_words(
        clinic: Callable[[int], list[PC]], cloud: Server, tmp_path: Path,
        _template_db: tuple[Path, str], monkeypatch: pytest.MonkeyPatch) -> None:
    (pc,) = clinic(1)
    port = cloud.url.rsplit(":", 1)[1]
    # The desktop's Server window, at an address the certificate is not for.
    admin = ServerAdmin(new_pc("desk", tmp_path, _template_db).db, SecretStore(_KEYRING))
    for url in (f"https://localhost:{port}", cloud.url):
        if url == cloud.url:
            _trust_only_another_authority(tmp_path, monkeypatch)
        with pytest.raises(TransientError) as refused:
            admin.register(url, "dr@example.org")
        assert str(refused.value) == UNVERIFIED
    # The agent: nothing goes out, and it says why.
    pc.store.patients.create(pc.admin.viewer(), {"first_name": "Not", "last_name": "Sent"})
    pc.agent.sync_once(forced=True)
    assert pc.agent.last_error is not None and UNVERIFIED in pc.agent.last_error
    assert pc.repo.outbox_counts()[0] == 1


def test_the_portal_over_https_sets_host_only_secure_cookies_and_hsts(cloud: Server) -> None:
    with httpx.Client(base_url=cloud.url, timeout=30) as http:
        pc = register_pc(http, *register_practice(http, cloud.mail_dir, "tls@example.org"))
        clinic = seed(pc)
        r = doctor_login(http, clinic.iid, "admin", ADMIN_PW)
    assert r.status_code == 303
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("__Host-chairside=")
    flags = {f.strip().lower() for f in cookie.split(";")[1:]}
    assert {"secure", "httponly", "path=/"} <= flags
    assert not any(f.startswith("domain=") for f in flags)
    assert r.headers["strict-transport-security"].startswith("max-age=")
