"""Download: images filed on the clinic's other PCs, fetched into this PC's image store.

A pulled record_image row names its file by SHA-256; when those bytes are not here,
the agent first fetches the server's thumbnail of every such image (small: a PC that
joins the practice, or is restored after a failure, shows every patient's images at
once), then the files themselves (GET /api/v1/images/{sha256}), smallest first, hashed
as they arrive and kept only if the hash matches (app.imaging.cas.add_stream). The
viewer fetches a file it is asked to open at once, through `fetch_file`. A file the
cloud does not hold yet (its PC has not sent it) is simply asked for again at a later
sync. Runs in the agent's loop after uploads, within the same time budget.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import requests

from app.imaging import series
from app.imaging.cas import ImageStore, StoredFile
from app.imaging.errors import ImagingError
from app.imaging.thumbnails import SIZE, ThumbnailCache
from app.store.db import Database
from app.store.images.missing_images_repo import MissingImagesRepo
from sync_agent.client import API, CONNECT_TIMEOUT_S, READ_TIMEOUT_S, TransientError, check
from sync_agent.job import Link

BLOCK = 1024 * 1024
# (done, total, what): what the agent shows in the status bar while it fetches.
Progress = Callable[[int, int, str], None]


@dataclass
class DownloadReport:
    fetched: int = 0
    not_there_yet: int = 0
    failed: int = 0
    bytes: int = 0
    thumbnails: int = 0


class NotOnServerError(ImagingError):
    """The server does not hold the file (yet): its PC has not sent it."""


def fetch_file(files: ImageStore, server_url: str, token: str | None, sha: str,
               size: int = 0, progress: Callable[[int, int], None] | None = None,
               http: requests.Session | None = None) -> StoredFile:
    """Fetch one file into the store, verified by its SHA-256 as it arrives (sealed
    like every stored file). `progress(done, total)` is told as bytes arrive. Raises
    NotOnServerError, TransientError (network trouble), ImagingError (damaged)."""
    session = http or requests.Session()
    url = f"{server_url.rstrip('/')}{API}/images/{sha}"
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with session.get(url, headers=headers, stream=True,
                         timeout=(CONNECT_TIMEOUT_S, READ_TIMEOUT_S)) as r:
            if r.status_code == 404:
                raise NotOnServerError("This image has not reached the server yet.")
            check(r)
            total = int(r.headers.get("Content-Length") or size or 0)

            def blocks() -> Iterator[bytes]:
                done = 0
                for block in r.iter_content(BLOCK):
                    done += len(block)
                    if progress is not None:
                        progress(done, total)
                    yield block

            return files.add_stream(blocks(), sha)
    except requests.RequestException:
        raise TransientError("an image could not be fetched: no connection to the server"
                             ) from None
    finally:
        if http is None:
            session.close()


class DownloadJob:
    name = "download"

    def __init__(self, db: Database, files: ImageStore | None = None,
                 on_progress: Progress | None = None, *, with_files: bool = True) -> None:
        self.images = MissingImagesRepo(db, files)
        self.with_files = with_files  # False: the previews only
        self.link: Link | None = None  # the server the next runs fetch from
        self.present: set[str] = set()  # hashes known to be on this PC
        self.no_thumbnail: set[str] = set()  # the server cannot draw these
        self.previewed: set[str] = set()  # hashes whose file or preview is here
        self.on_progress = on_progress
        self.told = False  # the status bar was told of a fetch in progress

    @property
    def files(self) -> ImageStore:
        return self.images.files

    @property
    def thumbnails(self) -> ThumbnailCache:
        return ThumbnailCache(self.files)

    def prepare(self) -> str | None:
        return "not connected to a server yet" if self.link is None else None

    def run(self) -> DownloadReport:
        """Fetch thumbnails, then (`with_files`) the files that are missing, from
        `link` (prepared first); returns when done, stopped or out of its budget.
        Network trouble raises TransientError for the agent's backoff."""
        link = self.link
        if link is None:
            raise RuntimeError("a download runs once prepared, with a server")
        report = DownloadReport()
        started = time.monotonic()

        def out_of_time() -> bool:
            return link.stop.is_set() or (
                link.budget_s is not None and time.monotonic() - started > link.budget_s)

        headers = {"Authorization": f"Bearer {link.token}"} if link.token else {}
        try:
            return self._run(link.server_url, link.token, headers, report, out_of_time,
                             self.with_files)
        finally:
            self._tell(0, 0, "")  # whatever happened, the status bar is told it is over

    def _run(self, server_url: str, token: str | None, headers: dict[str, str],
             report: DownloadReport, out_of_time: Callable[[], bool],
             with_files: bool) -> DownloadReport:
        with requests.Session() as http:
            self._thumbnails(http, server_url, headers, report, out_of_time)
            if not with_files:
                return self._done(report)
            # One pass may reveal more (a series manifest names its slices): go again
            # while the last pass brought something.
            while True:
                before = report.fetched
                missing = self.images.missing_files(self.present)
                for i, (sha, size) in enumerate(missing):
                    if out_of_time():
                        return self._done(report)
                    self._tell(i, len(missing), "Fetching images from the server")
                    self._fetch(http, server_url, token, sha, size, report)
                if report.fetched == before:
                    return self._done(report)

    def _thumbnails(self, http: requests.Session, server_url: str, headers: dict[str, str],  # noqa: C901
                    report: DownloadReport, out_of_time: Callable[[], bool]) -> None:
        cache = self.thumbnails
        wanted: list[tuple[str, bool]] = []
        # At every sync: hashes with a file or a preview here are not looked at again.
        for sha, is_series in self.images.filed_elsewhere(self.previewed):
            if cache.has(sha):
                self.previewed.add(sha)
            elif sha not in self.no_thumbnail:
                wanted.append((sha, is_series))
        for i, (sha, is_series) in enumerate(wanted):
            if out_of_time():
                return
            self._tell(i, len(wanted), "Fetching image previews from the server")
            draw = self._slice_to_draw(http, server_url, headers, sha) if is_series else sha
            if draw is None:
                continue
            url = f"{server_url.rstrip('/')}{API}/images/{draw}/thumbnail"
            try:
                r = http.get(url, headers=headers, params={"size": SIZE},
                             timeout=(CONNECT_TIMEOUT_S, READ_TIMEOUT_S))
            except requests.RequestException:
                raise TransientError("an image preview could not be fetched: no connection "
                                     "to the server") from None
            if r.status_code == 404:
                continue  # not sent by its PC yet: asked again at the next sync
            if r.status_code == 415:
                self.no_thumbnail.add(sha)  # drawn here once the file is here
                continue
            if r.status_code >= 500:
                continue  # one preview the server failed to draw holds up no other
            check(r)
            if not r.content.startswith(b"\x89PNG"):
                continue
            cache.put(sha, r.content)
            self.previewed.add(sha)
            report.thumbnails += 1
        if wanted:
            self._tell(len(wanted), len(wanted), "Fetching image previews from the server")

    def _slice_to_draw(self, http: requests.Session, server_url: str,
                       headers: dict[str, str], sha: str) -> str | None:
        """The middle slice of a series, whose preview stands for it; its manifest is
        fetched first (a few KB). None when this PC draws it itself (the slice is
        here) or the manifest is not on the server yet."""
        token = headers.get("Authorization", "").removeprefix("Bearer ") or None
        if not self.files.has(sha):
            try:
                fetch_file(self.files, server_url, token, sha, http=http)
            except ImagingError:  # not there yet, or damaged on the way: next sync
                return None
        try:
            middle = series.load(self.files.path_of(sha)).middle.sha256
        except (ImagingError, OSError):
            return None
        if self.files.has(middle):
            self.previewed.add(sha)
            return None
        return middle

    def _fetch(self, http: requests.Session, server_url: str, token: str | None, sha: str,
               size: int, report: DownloadReport) -> None:
        try:
            stored = fetch_file(self.files, server_url, token, sha, size, http=http)
        except NotOnServerError:
            report.not_there_yet += 1
            return
        except ImagingError:
            report.failed += 1  # damaged on the way: asked for again next time
            return
        report.fetched += 1
        report.bytes += stored.size

    def _tell(self, done: int, total: int, what: str) -> None:
        if self.on_progress is not None and (total or self.told):
            self.on_progress(done, total, what)
            self.told = bool(total)

    def _done(self, report: DownloadReport) -> DownloadReport:
        if report.fetched or report.thumbnails:
            self.images.note_files_arrived()
        return report
