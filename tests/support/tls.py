"""A cloud serving HTTPS with a certificate of a test authority (trustme)."""

from __future__ import annotations

from pathlib import Path

import trustme

from tests.integration.cloud.conftest import Server, start_server

# Where requests (the agent, the desktop) and httpx (the tests) take the trusted CAs from.
CA_ENV = ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE")


def start_https_server(folder: Path, env: dict[str, str] | None = None) -> tuple[Server, Path]:
    """The cloud on https://127.0.0.1 (its certificate is for that address only) and the
    certificate authority's file to trust it by."""
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    cert.private_key_pem.write_to_path(str(folder / "key.pem"))
    cert.private_key_and_cert_chain_pem.write_to_path(str(folder / "chain.pem"))
    server = start_server(folder / "data", {
        "CHAIRSIDE_CLOUD_SSL_CERTFILE": str(folder / "chain.pem"),
        "CHAIRSIDE_CLOUD_SSL_KEYFILE": str(folder / "key.pem"), **(env or {})},
        https_ca=folder / "ca.pem")
    return server, folder / "ca.pem"


def another_authority(folder: Path) -> Path:
    """The file of an authority that signed nothing of the server's."""
    path = folder / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(path))
    return path
