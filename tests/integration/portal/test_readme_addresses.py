"""The portal addresses the README gives open the pages it describes, on the real cloud."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.cloud.conftest import Server, start_server, stop_server

ROOT = Path(__file__).resolve().parents[3]


def portal_section() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return text.split("## The web portal", 1)[1].split("\n## ", 1)[0]


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(tmp_path_factory.mktemp("cloud") / "data")
    yield srv
    stop_server(srv)


def test_every_portal_address_in_the_readme_opens_a_sign_in_page(cloud: Server) -> None:
    section = portal_section()
    paths = set(re.findall(r"`(?:http://127\.0\.0\.1:8080)?(/[^`\s]*)`", section))
    assert {"/doctor/login", "/patient/login", "/doctor/", "/patient/"} <= paths
    with httpx.Client(base_url=cloud.url, follow_redirects=True, timeout=30) as http:
        for path in sorted(paths):
            page = http.get(path.replace("=ID", "=123456789012"))
            assert page.status_code == 200, path
            assert "<form" in page.text and 'name="installation_id"' in page.text, path


def test_the_readme_names_the_sign_in_fields_the_pages_ask_for(cloud: Server) -> None:
    section = " ".join(portal_section().split())
    with httpx.Client(base_url=cloud.url, timeout=30) as http:
        doctor = http.get("/doctor/").text
        patient = http.get("/patient/?installation=123456789012").text
    labels = {
        "doctor": re.findall(r"<label>([^<]+)<input(?![^>]*hidden)", doctor),
        "patient": re.findall(r"<label>([^<]+)<input(?![^>]*hidden)", patient),
    }
    assert labels == {
        "doctor": ["Installation ID", "Login password", "User name", "User password"],
        "patient": ["Installation ID", "Card number", "Password"],
    }
    assert ("installation ID, the login password, a user name and that user's password"
            in section)
    assert "installation ID, their card number and their own password" in section
    assert 'value="123456789012"' in patient  # the address fills the ID in
