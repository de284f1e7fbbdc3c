"""Mail delivery on the job runner.

A mail is tried at once, in the request that makes it: a mail server that can not be
reached or refuses the mail is said to the person there and then, and nothing of the
request stays (as before). One that answers "not now" (a 4xx: greylisting, a full
queue) gets the mail again later: a `mail.deliver` job, queued in the request's own
transaction and retried with backoff by whichever server process claims it. Its body
may hold a secret (an upload password, a setup link), so the job keeps it sealed with
the server's master key (AES-256-GCM, bound to the job's id) and wipes it once sent.
"""

from __future__ import annotations

import base64
import secrets
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import update
from sqlalchemy.orm import Session

from app.core.ids import new_id
from cloud import mailer
from cloud.blob_key import blob_key
from cloud.config import Settings
from cloud.jobs import JobContext, JobError, enqueue, handler
from cloud.jobs.models import Job

KIND = "mail.deliver"
ATTEMPTS = 8  # with the runner's doubling backoff: about two hours at the default


def _key(settings: Settings) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=b"chairside queued mail v1").derive(blob_key(settings))


def _seal(settings: Settings, text: str, job_id: str) -> str:
    nonce = secrets.token_bytes(12)
    return base64.b64encode(
        nonce + AESGCM(_key(settings)).encrypt(nonce, text.encode(), job_id.encode())).decode()


def _unseal(settings: Settings, sealed: str, job_id: str) -> str:
    raw = base64.b64decode(sealed)
    try:
        return AESGCM(_key(settings)).decrypt(raw[:12], raw[12:], job_id.encode()).decode()
    except InvalidTag:
        raise JobError("the queued mail can not be opened with this server's key") from None


def send(session: Session, settings: Settings, *, to: str, subject: str, body: str) -> bool:
    """Send now (True), or queue the mail in the caller's transaction when the mail
    server asks for later (False). MailError otherwise, as `mailer.send`."""
    try:
        mailer.send(settings, to=to, subject=subject, body=body)
        return True
    except mailer.MailLater:
        pass
    job_id = new_id()
    enqueue(session, KIND, {"to": to, "subject": subject,
                            "body": _seal(settings, body, job_id)},
            max_attempts=ATTEMPTS, job_id=job_id)
    return False


@handler(KIND)
def deliver(ctx: JobContext, payload: dict[str, Any]) -> None:
    if not payload:
        return  # sent already; the process stopped before it could say so
    body = _unseal(ctx.settings, payload["body"], ctx.job_id)
    try:
        mailer.send(ctx.settings, to=payload["to"], subject=payload["subject"], body=body)
    except mailer.MailError as exc:
        raise JobError(str(exc)) from None
    with ctx.sessionmaker() as session:  # the secret is not kept once delivered
        session.execute(update(Job).where(Job.id == ctx.job_id).values(payload={}))
        session.commit()
