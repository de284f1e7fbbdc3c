"""Every setting of the cloud, declared once.

Values come from the command line (`--host`, `--port`, `--data`), then environment
variables, then the embedded defaults: SQLite and a folder of files under the data
directory, so that `python -m cloud` runs with zero configuration.

Environment variables carry the prefix ``CHAIRSIDE_CLOUD_`` (``CHAIRSIDE_CLOUD_SMTP_HOST``,
``CHAIRSIDE_CLOUD_BLOB_STORE``, ...); the database URL is also read from the conventional
``DATABASE_URL``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

GIB = 1024**3


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("chairside-cloud", appauthor=False))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CHAIRSIDE_CLOUD_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = Field(default_factory=default_data_dir)
    # Where people and clients reach this server (https://cloud.example.org), for the
    # links it mails and the upload URLs it hands out. Never taken from a request's Host
    # header, which the caller chooses; empty: this server's own address.
    public_url: str = ""
    log_level: str = "info"
    # HTTPS served by the process itself (PEM files); without them, plain HTTP (behind
    # a reverse proxy that ends TLS, see deploy/).
    ssl_certfile: Path | None = None
    ssl_keyfile: Path | None = None
    # "json": one JSON object a line (time, level, logger, request_id, message).
    log_format: Literal["text", "json"] = "text"

    database_url: str = Field(
        default="",
        validation_alias=AliasChoices("CHAIRSIDE_CLOUD_DATABASE_URL", "DATABASE_URL"),
        description="SQLAlchemy URL; empty: SQLite in the data directory",
    )

    blob_store: Literal["filesystem", "s3"] = "filesystem"
    # Uploads in progress (default: <data>/uploads). Several processes serving one
    # installation share one such folder (cloud.tus: any of them resumes any upload).
    upload_dir: Path | None = None
    blob_dir: Path | None = None  # default: <data>/blobs
    s3_bucket: str = ""
    s3_prefix: str = "blobs/"
    s3_endpoint_url: str = ""
    s3_region: str = ""
    # Server-side encryption of the objects, with a key the operator sets: an AWS KMS
    # key id or ARN (SSE-KMS), or a 256-bit key of one's own, base64 (SSE-C: S3 never
    # keeps it, so losing it loses the images). Neither: the bucket's default.
    s3_kms_key_id: str = ""
    s3_sse_customer_key: str = Field(default="", repr=False)
    # The folder store's master key, base64 (32 bytes): every blob is sealed with a key
    # derived from it (app.platform.sealed). Empty: `<data>/blob.key`, made on first
    # start; set it (or keep that file elsewhere) so that a copy of the data folder
    # alone does not open the images. Keys used before, to read older blobs: a comma-
    # separated list in blob_old_keys.
    blob_key: str = Field(default="", repr=False)
    blob_old_keys: str = Field(default="", repr=False)

    smtp_host: str = ""
    smtp_port: int = 587
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_from: str = "Chairside <no-reply@localhost>"
    smtp_security: Literal["starttls", "ssl", "none"] = "starttls"
    smtp_timeout_s: float = 20.0
    # For development only: without an SMTP server, mails (upload passwords, setup
    # links) are written to <data>/mail and removed after mail_folder_keep_s. Switch it
    # off in production: no secret is then ever written to disk.
    mail_folder: bool = True
    mail_folder_keep_s: float = 3600.0

    # The audit chain's HMAC key, kept outside the database; empty: a key file of its
    # own in the data directory, made on first start.
    audit_key: str = Field(default="", repr=False)

    max_upload_bytes: int = 20 * GIB
    upload_expiry_hours: float = 24.0
    # At most one new upload password mail per installation in this many seconds.
    password_mail_interval_s: float = 60.0
    # A request body that stops arriving for this long ends the request (408; a tus
    # chunk keeps what arrived). Slow request headers are left to uvicorn and the proxy.
    body_read_timeout_s: float = 30.0
    # /docs and /openapi.json: off unless asked for (they map the whole API for anyone).
    api_docs: bool = False
    # An extra plain PUT route used only by bench/upload.py as the baseline.
    bench_routes: bool = False
    # tus checksum extension; off only to test clients against a server without it
    # (Upload-Checksum is then ignored, as such a server does).
    tus_checksum: bool = True

    # Jobs (cloud.jobs): how often an idle process looks for due jobs; how long a claim
    # holds without renewal (a process that died lets it lapse and another runs the job);
    # the first retry's delay, doubled at each further attempt; the chores' period.
    job_poll_s: float = 1.0
    job_lease_s: float = 60.0
    job_retry_base_s: float = 30.0
    chores_every_s: float = 600.0
    # Further modules that register job handlers, comma-separated (imported at start).
    job_modules: str = ""
    # The operator's bearer token for /api/v1/admin (the jobs' status); empty: no admin
    # API at all.
    admin_token: str = Field(default="", repr=False)

    # TESTS ONLY: while this file exists, storing a blob fails as a full disk does.
    test_storage_full_flag: Path | None = None

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'cloud.sqlite3').as_posix()}"

    @property
    def public_base(self) -> str:
        """The configured public URL, else the address this server listens on."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        host = f"[{host}]" if ":" in host else host
        scheme = "https" if self.ssl_certfile else "http"
        return f"{scheme}://{host}:{self.port}"

    @property
    def resolved_blob_dir(self) -> Path:
        return self.blob_dir or self.data_dir / "blobs"

    @property
    def uploads_dir(self) -> Path:
        return self.upload_dir or self.data_dir / "uploads"

    @property
    def mail_dir(self) -> Path:
        return self.data_dir / "mail"

    @property
    def smtp_configured(self) -> bool:
        return bool(self.smtp_host)
