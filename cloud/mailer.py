"""Outgoing mail: SMTP when configured, else `.eml` files in the data directory.

The body of a mail may carry a secret (an upload password); it is never logged.
"""

from __future__ import annotations

import logging
import os
import smtplib
import ssl
import time
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from cloud.config import Settings

log = logging.getLogger("cloud.mail")


class MailError(RuntimeError):
    """The mail could not be handed to the SMTP server."""


class MailLater(MailError):
    """The SMTP server answered "not now" (a 4xx: greylisting, a full queue): the mail
    is to be sent again later (cloud.mail_jobs)."""


def _temporary(exc: smtplib.SMTPException) -> bool:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        return bool(codes) and all(400 <= code < 500 for code in codes)
    return isinstance(exc, smtplib.SMTPResponseException) and 400 <= exc.smtp_code < 500


def build(settings: Settings, *, to: str, subject: str, body: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = settings.smtp_from
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain="chairside")
    msg.set_content(body)
    return msg


def send(settings: Settings, *, to: str, subject: str, body: str) -> None:
    msg = build(settings, to=to, subject=subject, body=body)
    if not settings.smtp_configured:
        if not settings.mail_folder:
            raise MailError("no mail server is configured on the Chairside server")
        path = _write_eml(settings.mail_dir, msg)
        log.info("no SMTP server configured: a mail was written to %s", path.name)
        return
    try:
        _smtp_send(settings, msg)
    except smtplib.SMTPException as exc:
        if _temporary(exc):
            log.info("the mail server asked to send a mail later")
            raise MailLater("the mail server asked to try again later") from None
        log.warning("a mail failed: %s", exc.__class__.__name__)
        raise MailError(
            f"the mail server did not accept the mail ({exc.__class__.__name__})"
        ) from None
    except OSError as exc:
        log.warning("a mail failed: %s", exc.__class__.__name__)
        raise MailError(
            f"the mail server did not accept the mail ({exc.__class__.__name__})"
        ) from None
    log.info("a mail was sent")


def _smtp_send(settings: Settings, msg: EmailMessage) -> None:
    timeout = settings.smtp_timeout_s
    smtp: smtplib.SMTP
    if settings.smtp_security == "ssl":
        smtp = smtplib.SMTP_SSL(
            settings.smtp_host, settings.smtp_port, timeout=timeout,
            context=ssl.create_default_context(),
        )
    else:
        smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout)
    with smtp:
        if settings.smtp_security == "starttls":
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password)
        smtp.send_message(msg)


def _write_eml(folder: Path, msg: EmailMessage) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{time.strftime('%Y%m%dT%H%M%S')}-{os.urandom(4).hex()}.eml"
    path = folder / name
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        f.write(bytes(msg))
        f.flush()
        os.fsync(f.fileno())
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return path


def sweep(settings: Settings) -> int:
    """Remove mails of the development folder older than mail_folder_keep_s (they may
    hold upload passwords and setup links); returns how many."""
    cutoff = time.time() - settings.mail_folder_keep_s
    removed = 0
    for path in settings.mail_dir.glob("*.eml"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:
            continue
    return removed
