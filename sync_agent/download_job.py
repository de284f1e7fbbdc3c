"""Download: images filed on the clinic's other PCs, fetched into this PC's image store.

A pulled record_image row names its file by SHA-256; when those bytes are not here,
they are fetched from the cloud (GET /api/v1/images/{sha256}), smallest first, hashed
as they arrive and kept only if the hash matches (app.imaging.cas.add_stream). A file
the cloud does not hold yet (its PC has not sent it) is simply asked for again at a
later sync. Runs in the agent's loop after uploads, within the same time budget.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import requests

from app.imaging.cas import ImageStore
from app.imaging.errors import ImagingError
from app.store.db import Database
from app.store.images.images_repo import ImagesRepo
from sync_agent.client import API, CONNECT_TIMEOUT_S, READ_TIMEOUT_S, TransientError, check

BLOCK = 1024 * 1024


@dataclass
class DownloadReport:
    fetched: int = 0
    not_there_yet: int = 0
    failed: int = 0
    bytes: int = 0


class DownloadJob:
    def __init__(self, db: Database, files: ImageStore | None = None) -> None:
        self.images = ImagesRepo(db, files)
        self.present: set[str] = set()  # hashes known to be on this PC
    @property
    def files(self) -> ImageStore:
        return self.images.files

    def run(self, server_url: str, token: str | None, *, stop: threading.Event | None = None,
            budget_s: float | None = None) -> DownloadReport:
        """Fetch what is missing; returns when done, stopped or out of time. Network
        trouble raises TransientError for the agent's backoff."""
        report = DownloadReport()
        started = time.monotonic()
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        with requests.Session() as http:
            # One pass may reveal more (a series manifest names its slices): go again
            # while the last pass brought something.
            while True:
                before = report.fetched
                for sha, _size in self.images.missing_files(self.present):
                    if (stop is not None and stop.is_set()) or (
                        budget_s is not None and time.monotonic() - started > budget_s
                    ):
                        return self._done(report)
                    self._fetch(http, f"{server_url.rstrip('/')}{API}/images/{sha}", sha,
                                headers, report)
                if report.fetched == before:
                    return self._done(report)

    def _fetch(self, http: requests.Session, url: str, sha: str, headers: dict[str, str],
               report: DownloadReport) -> None:
        try:
            with http.get(url, headers=headers, stream=True,
                          timeout=(CONNECT_TIMEOUT_S, READ_TIMEOUT_S)) as r:
                if r.status_code == 404:
                    report.not_there_yet += 1
                    return
                check(r)
                stored = self.files.add_stream(r.iter_content(BLOCK), sha)
        except requests.RequestException as exc:
            raise TransientError(f"an image could not be fetched: {exc}") from None
        except ImagingError:
            report.failed += 1  # damaged on the way: asked for again next time
            return
        report.fetched += 1
        report.bytes += stored.size

    def _done(self, report: DownloadReport) -> DownloadReport:
        if report.fetched:
            self.images.note_files_arrived()
        return report
