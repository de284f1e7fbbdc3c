"""The agent's loop: small jobs, each reporting as data the app can show.

Every tick: take the app's requests, then — when online and there is work, or a pull
is due — push the outbox, pull what changed, and publish the state. Network trouble
backs off with jitter; a refusal that will not change by retrying is shown with the
server's reason instead of being retried forever.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from sqlalchemy.exc import OperationalError

from app.core.agent_requests import RequestKind
from app.platform.build_id import build_id
from app.platform.secrets import SecretStore
from app.store.db import Database
from app.store.settings_repo import SettingsRepo
from app.store.sync.agent_repo import AgentRepo
from app.store.sync.outbox import utc_now_text
from app.store.sync.sync_repo import SyncRepo, queue_everything
from app.store.sync.uploads_repo import UploadsRepo
from sync_agent import connection
from sync_agent.acquisition_job import AcquisitionJob
from sync_agent.backoff import Backoff
from sync_agent.client import AuthError, CloudClient, RejectedError, TransientError
from sync_agent.clinic_job import ClinicJob
from sync_agent.download_job import DownloadJob
from sync_agent.index_job import IndexJob
from sync_agent.job import Job, Link, Report
from sync_agent.pull_job import pull_all, send_decisions
from sync_agent.push_job import BATCH as PUSH_BATCH
from sync_agent.push_job import LOCKED, push_all, push_all_unless_locked
from sync_agent.seal_job import SealJob
from sync_agent.upload_job import UploadJob
from sync_agent.upload_run import UploadProgress, UploadReport

log = logging.getLogger("chairside.agent")
PULL_EVERY_S = 10.0
HEARTBEAT_EVERY_S = 5.0
# A failed sync is tried again after a random wait of at most this long: a PC is back
# within seconds of the server, and a clinic's PCs still do not knock in step.
RETRY_CAP_S = 10.0
# Uploads run in slices of about this long (the next tick resumes where a slice
# stopped), in a thread of their own: records go up and down meanwhile, every
# RECORDS_EVERY_S, so a change never waits for an image on a slow line.
UPLOAD_SLICE_S = 15.0
RECORDS_EVERY_S = 0.5
# While the other PCs are sending, a pull this often: more often, every page applied is
# smaller and its commit's cost shared by fewer changes.
PULL_BUSY_EVERY_S = 3.0
# The result of a request of a kind this agent does not know (a newer app's): the app
# shows it as it shows any request's result.
REFUSED = "refused: this sync service does not know that request"
# A push that met this computer's database busy with pulled changes goes on this often.
BUSY_PUSH_TRIES = 5


@dataclass
class _Transfer:
    """The files' thread of one sync, and what it met."""

    worker: threading.Thread | None = None
    records_done: threading.Event = field(default_factory=threading.Event)
    stop: threading.Event = field(default_factory=threading.Event)
    errors: list[BaseException] = field(default_factory=list)


def _busy(exc: OperationalError) -> bool:
    return "locked" in str(exc.orig) or "busy" in str(exc.orig)


class Agent:
    def __init__(
        self,
        db: Database,
        secrets: SecretStore,
        *,
        tick_s: float = 1.0,
        pull_every_s: float = PULL_EVERY_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db = db
        self.secrets = secrets
        self.sync = SyncRepo(db)
        self.agent = AgentRepo(db)
        self.settings = SettingsRepo(db)
        self.uploads = UploadsRepo(db)
        self.upload_job = UploadJob(self.uploads, on_progress=self._upload_progress)
        self.upload_slice_s: float | None = UPLOAD_SLICE_S
        self.acquisition = AcquisitionJob(db)
        self.download_job = DownloadJob(db, on_progress=self._download_progress)
        self.last_download_note = -1e9
        self.tick_s = tick_s
        self.pull_every_s = pull_every_s
        self.now = monotonic
        self.backoff = Backoff(cap_s=RETRY_CAP_S)
        self.next_try = 0.0
        # Files back off on their own: a stuck upload never delays the records.
        self.transfer_backoff = Backoff(cap_s=RETRY_CAP_S * 6)
        self.next_transfer = 0.0
        self.transfer_error: str | None = None
        self.transfer = _Transfer()  # the files' thread of the sync under way, if any
        self.last_pull = -1e9
        self.pull_moved = False  # the last pull brought changes
        self.last_beat = -1e9
        self.stop_event = threading.Event()
        self.sealing = SealJob(lambda: self.download_job.files)
        # Each tick, before the sync: files taken in, encrypted, patients indexed.
        self.upkeep: tuple[Job[Report], ...] = (
            self.acquisition, self.sealing, IndexJob(self.sync))
        self.online = False
        self.last_error: str | None = None
        self.clinic = ClinicJob(db)

    # The loop -------------------------------------------------------------------------
    def run(self) -> None:
        self.agent.publish(
            pid=os.getpid(),
            build=build_id(),
            started_at=utc_now_text(),
            stopped_at=None,
            online=False,
            last_error=None,
        )
        try:
            while not self.stop_event.is_set():
                self.tick()
                self.stop_event.wait(self.tick_s)
        finally:
            self.acquisition.unwatch()
            self.agent.publish(stopped_at=utc_now_text(), online=False, current_upload=None)

    def stop(self) -> None:
        self.stop_event.set()
        self.transfer.stop.set()

    def tick(self) -> None:
        forced = False
        for request in self.agent.take_requests():
            forced |= self.handle(request.id, request.kind)
        for job in self.upkeep:
            self.run_job(job)
        self.sync_once(forced)
        if self.now() - self.last_beat >= HEARTBEAT_EVERY_S or forced:
            self.publish()

    def handle(self, request_id: int, kind: str) -> bool:
        """Run one request from the app; True when it asks for a sync right now. A kind
        this agent does not know is refused, never taken for another."""
        match RequestKind.of(kind):
            case RequestKind.STOP:
                self.agent.finish(request_id, "stopping")
                self.stop()
                return False
            case RequestKind.UPDATE_ALL:
                n = queue_everything(self.db)
                self.agent.finish(request_id, f"{n} records queued")
                return True
            case RequestKind.RETRY_FAILED:
                n = self.sync.retry_failed()
                files = self.uploads.retry_failed()
                self.agent.finish(request_id, f"{n} changes and {files} files to send again")
                return True
            case RequestKind.RECONCILE:
                self.agent.finish(request_id, self.reconcile())
                return False
            case RequestKind.SYNC_NOW:
                self.agent.finish(request_id, "sync started")
                return True
            case None:
                log.warning("request %d refused: unknown kind %r", request_id, kind[:40])
                self.agent.finish(request_id, REFUSED)
                return False

    def run_job(self, job: Job[Report]) -> Report | None:
        """Prepare and run a job beside the sync (the upkeep jobs, the clinic): its
        trouble is logged and never stops the sync."""
        try:
            if job.prepare() is not None:
                return None
            report = job.run()
        except Exception:
            log.exception("%s: the job failed", job.name)
            return None
        if text := report.describe():
            log.info("%s: %s", job.name, text)
        return report

    def reconcile(self) -> str:
        """Database synchronization, reported in words for the app."""
        from sync_agent.reconcile_job import reconcile

        conn = connection.load(self.db, self.secrets)
        if conn is None:
            return "Not connected to a server yet."
        try:
            return reconcile(self.db, conn.client()).describe()
        except (TransientError, RejectedError) as exc:
            return f"Database synchronization could not finish: {exc}"

    def sync_once(self, forced: bool) -> None:
        now = self.now()
        if not forced and now < self.next_try:
            return
        conn = connection.load(self.db, self.secrets)
        if conn is None:
            self._trouble("not connected to a server yet", online=False)
            return
        automatic = bool(self.settings.get("automatic_update"))
        outbox, _failed = self.sync.outbox_counts()
        pending = outbox + self.uploads.counts().files
        pull_due = now - self.last_pull >= self._pull_interval()
        if not forced and not (automatic and (pending or pull_due)):
            return
        client = conn.client()
        push = forced or automatic
        # Images go up with the records, not after them: after days offline the outbox
        # takes minutes, and no image needs its record on the cloud first (the cloud
        # files an image under a patient it has not heard of yet, and a PC keeps an
        # image whose patient has not arrived).
        transfer = (self._start_transfer(conn.server_url, conn.token)
                    if push and (forced or now >= self.next_transfer) else None)
        try:
            records_ok = self._records(client, push=push, now=now, outbox=outbox)
        except BaseException:
            if transfer is not None:  # its thread waits for the records: let it go
                transfer.stop.set()
                transfer.records_done.set()
            raise
        if records_ok:
            self.backoff.reset()
            self.last_pull = now
            # Records are fine; files that wait their turn after trouble still say why.
            self.online, self.last_error = True, self.transfer_error
        if transfer is not None:
            self._finish_transfer(transfer, client, records_ok)
        if records_ok:
            self.publish(last_sync_at=utc_now_text())
            self.clinic.client = client
            self.run_job(self.clinic)

    def _records(self, client: CloudClient, *, push: bool, now: float, outbox: int = 0) -> bool:
        """Push the outbox and pull what changed; False (and the trouble shown, the
        next try set) when that failed."""
        try:
            send_decisions(self.sync, client)
            locked = None
            if push:
                locked = (self._push_pulling(client) if outbox > PUSH_BATCH
                          else push_all_unless_locked(self.sync, client))
            # Pulled even then: the dissolution's purge arrives this way.
            self._pull(client)
            if locked is not None:
                raise locked
        except OperationalError as exc:
            if not _busy(exc):
                raise
            # Pulled changes held this computer's database longer than a write waits
            # (a large page on a slow computer): what was sent is taken again, harmlessly.
            self.next_try = now + self.backoff.next_delay()
            self._trouble("this computer's database is busy", online=True)
            return False
        except TransientError as exc:
            delay = self.backoff.next_delay(exc.retry_after)
            self.next_try = now + delay
            self._trouble(str(exc), online=False)
            log.info("sync failed, next try in %.1f s: %s", delay, exc)
            return False
        except AuthError as exc:
            self.next_try = now + 60
            self._trouble(f"this computer's access was refused: {exc.reason}", online=True)
            return False
        except RejectedError as exc:
            self.next_try = now + self.backoff.next_delay()
            self._trouble(exc.reason if exc.status == LOCKED else str(exc), online=True)
            return False
        return True

    def _pull(self, client: CloudClient) -> None:
        cursor = self.sync.pull_cursor()
        pull_all(self.sync, client)
        self.pull_moved = self.sync.pull_cursor() != cursor

    def _pull_interval(self) -> float:
        # After an outage the other PCs send for minutes: while pulls bring changes the
        # next follows soon, not after the idle interval (the last PCs' changes then
        # reach every PC within seconds of reaching the cloud).
        return min(PULL_BUSY_EVERY_S, self.pull_every_s) if self.pull_moved else self.pull_every_s

    def _push_pulling(self, client: CloudClient) -> RejectedError | None:
        """push_all_unless_locked, and meanwhile pull and apply what the other PCs sent.

        After days offline every PC pushes thousands of changes at once and the cloud
        takes them one batch at a time: a PC that only pushed would wait for the cloud
        most of that time, with the other PCs' changes waiting on the cloud for it.
        The pull uses a client of its own (one HTTP session is not for two threads)."""
        puller = CloudClient(client.base_url, client.token)
        with ThreadPoolExecutor(1, thread_name_prefix="push-all") as pool:
            for attempt in range(BUSY_PUSH_TRIES):
                pushing = pool.submit(push_all_unless_locked, self.sync, client)
                while not pushing.done():
                    pull_all(self.sync, puller)
                    # The others' changes gather a while: a page of a few hundred costs
                    # nearly as much to apply as a page of thousands.
                    wait([pushing], timeout=PULL_BUSY_EVERY_S)
                try:
                    return pushing.result()
                except OperationalError as exc:
                    # The pull's transaction held the database longer than a write waits:
                    # push on (the batch the cloud took but we did not note goes again,
                    # and the cloud answers it with the stored result).
                    if not _busy(exc) or attempt == BUSY_PUSH_TRIES - 1:
                        raise
        return None

    def _start_transfer(self, server_url: str, token: str | None) -> _Transfer:
        """Uploads (then downloads) in a thread of their own, started before the records:
        slices follow one another for as long as the records are still going, so a long
        outbox never holds the images back."""
        transfer = self.transfer = _Transfer()
        if self.stop_event.is_set():
            transfer.stop.set()

        link = Link(server_url, token, transfer.stop, self.upload_slice_s)
        self.upload_job.link = self.download_job.link = link

        def run() -> None:
            try:
                total = UploadReport()
                while self.upload_job.prepare() is None:
                    report = self.upload_job.run()
                    total = total.then(report)
                    if not report.paused or transfer.records_done.is_set():
                        break
                self.upload_job.last_report = total
                # Images filed on the other PCs, so that they can be viewed here too:
                # after the pull, which brings the rows of the images to fetch.
                transfer.records_done.wait()
                if self.download_job.prepare() is None:
                    self.download_job.run()
            except BaseException as exc:
                transfer.errors.append(exc)

        transfer.worker = threading.Thread(target=run, name="agent-transfer", daemon=True)
        transfer.worker.start()
        return transfer

    def _finish_transfer(self, transfer: _Transfer, client: CloudClient, records_ok: bool) -> None:
        """Wait for the slice under way, records flowing meanwhile, then take the files'
        trouble. Records that failed pause the files too: the next try does both."""
        transfer.records_done.set()
        if not records_ok:
            transfer.stop.set()
        while transfer.worker is not None and transfer.worker.is_alive():
            transfer.worker.join(RECORDS_EVERY_S)
            if transfer.worker.is_alive() and records_ok:
                records_ok = self._records_meanwhile(client)
        if not transfer.errors:
            self.transfer_backoff.reset()
            self.transfer_error = None
            if records_ok:
                self.last_error = None
            return
        exc = transfer.errors[0]
        if isinstance(exc, AuthError):
            self.next_try = self.now() + 60
            self.last_error = f"this computer's access was refused: {exc.reason}"
            return
        if isinstance(exc, TransientError | RejectedError):
            retry_after = exc.retry_after if isinstance(exc, TransientError) else 0.0
            message = str(exc)
        elif isinstance(exc, OperationalError) and _busy(exc):
            # This PC's database was held longer than a write waits (a large page of
            # pulled changes on a slow computer): the file resumes at the next slice.
            retry_after, message = 0.0, "this computer's database is busy"
        else:
            raise exc
        delay = self.transfer_backoff.next_delay(retry_after)
        self.next_transfer = self.now() + delay
        self.transfer_error = f"images wait: {message}"
        if records_ok:
            self.last_error = self.transfer_error
        log.info("transfer failed, next try in %.1f s: %s", delay, message)

    def _records_meanwhile(self, client: CloudClient) -> bool:
        """While files travel: the app's requests, the changes written meanwhile, a
        pull when due, the heartbeat. False after trouble (the next tick retries)."""
        forced = False
        for request in self.agent.take_requests():
            forced |= self.handle(request.id, request.kind)
        now = self.now()
        pending, _failed = self.sync.outbox_counts()
        pull_due = forced or now - self.last_pull >= self._pull_interval()
        try:
            if pending:
                push_all(self.sync, client)
            if pull_due:
                self._pull(client)
                self.last_pull = now
        except (TransientError, RejectedError) as exc:
            log.info("records while uploading: %s", exc)
            # Shown until the next sync: a server gone while the files travel says so.
            self._trouble(str(exc), online=not isinstance(exc, TransientError))
            return False
        if now - self.last_beat >= HEARTBEAT_EVERY_S:
            self.publish()
        return True

    def _trouble(self, message: str, online: bool) -> None:
        changed = (self.online, self.last_error) != (online, message)
        self.online, self.last_error = online, message
        if changed:
            self.publish()

    def _upload_progress(self, p: UploadProgress) -> None:
        self.agent.publish(
            current_upload=(p.text or p.current or "")[:500] or None,
            upload_done=p.done,
            upload_total=p.total,
            waiting_uploads=p.waiting_files,
            waiting_bytes=p.waiting_bytes,
        )

    def _download_progress(self, done: int, total: int, what: str) -> None:
        # A restored PC fetches thousands of previews: the status bar hears of it twice
        # a second, not at every one.
        now = self.now()
        if done < total and now - self.last_download_note < 0.5:
            return
        self.last_download_note = now
        self.agent.publish(current_upload=f"{what}: {done} of {total}" if done < total
                           else None, upload_total=0, upload_done=0)

    def publish(self, **extra: object) -> None:
        pending, _failed = self.sync.outbox_counts()
        uploads = self.uploads.counts()
        self.agent.publish(
            online=self.online,
            last_error=self.last_error,
            waiting_changes=pending,
            waiting_uploads=uploads.files,
            waiting_bytes=uploads.bytes,
            pid=os.getpid(),
            stopped_at=None,
            **extra,
        )
        self.last_beat = self.now()
