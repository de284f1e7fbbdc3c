"""The server's periodic chores, as jobs: each runs on one process of the fleet."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import delete, or_, select

from cloud import mailer, sessions
from cloud.blobstore import BlobStore, FilesystemBlobStore
from cloud.config import Settings
from cloud.crud.uploads import sweep_expired
from cloud.export import job as export_job
from cloud.export import service as export_service
from cloud.jobs.registry import JobContext, at_start, every, handler
from cloud.models import utcnow
from cloud.portal.models import Account, AccountSetup

log = logging.getLogger("cloud.jobs")


@handler("chores.expire_uploads")
def expire_uploads(ctx: JobContext, _payload: dict[str, Any]) -> None:
    with ctx.sessionmaker() as session:
        n = sweep_expired(session, folder=ctx.settings.uploads_dir)
    if n:
        log.info("removed %d expired uploads", n)


@handler("chores.expire_sessions")
def expire_sessions(ctx: JobContext, _payload: dict[str, Any]) -> None:
    with ctx.sessionmaker() as session:
        sessions.sweep(session)


@handler("chores.expire_setup_links")
def expire_setup_links(ctx: JobContext, _payload: dict[str, Any]) -> None:
    """Spent and expired account setup links (they no longer open anything)."""
    with ctx.sessionmaker() as session:
        session.execute(delete(AccountSetup).where(
            or_(AccountSetup.used_at.is_not(None), AccountSetup.expires_at <= utcnow())))
        session.commit()


@handler("chores.expire_accounts")
def expire_accounts(ctx: JobContext, _payload: dict[str, Any]) -> None:
    """A temporary account past its end keeps no session and no setup link; the
    account itself stays, for the practice to extend or delete."""
    with ctx.sessionmaker() as session:
        ids = list(session.scalars(select(Account.id).where(
            Account.expires_at.is_not(None), Account.expires_at <= utcnow())))
        for account_id in ids:
            sessions.end_for_account(session, account_id)
        if ids:
            session.execute(delete(AccountSetup).where(AccountSetup.account_id.in_(ids)))
        session.commit()


@handler("chores.sweep_mail_folder")
def sweep_mail_folder(ctx: JobContext, _payload: dict[str, Any]) -> None:
    mailer.sweep(ctx.settings)


@at_start
def seal_plain(_settings: Settings, blobs: BlobStore) -> None:
    if isinstance(blobs, FilesystemBlobStore):  # blobs stored before encryption
        sealed_now, plain = blobs.seal_plain()
        if sealed_now or plain:
            log.info("blob store: %d blobs encrypted, %d still plain", sealed_now, plain)
        rewrapped, old = blobs.rewrap_old()
        if rewrapped or old:
            log.info("blob store: %d blobs moved to the current key, %d under an old "
                     "key", rewrapped, old)


@handler("chores.seal_plain_blobs")
def seal_plain_blobs(ctx: JobContext, _payload: dict[str, Any]) -> None:
    seal_plain(ctx.settings, ctx.blobs)


# Data downloads (cloud.export): each is a job queued when it is scheduled; the ones
# past their days are deleted by a chore.
handler(export_service.JOB_KIND)(export_job.run_data_download)
handler("chores.expire_data_downloads")(export_job.expire_data_downloads)

for _kind in ("chores.expire_uploads", "chores.expire_sessions", "chores.expire_setup_links",
              "chores.expire_accounts", "chores.sweep_mail_folder",
              "chores.seal_plain_blobs", "chores.expire_data_downloads"):
    every(_kind, lambda s: s.chores_every_s)
