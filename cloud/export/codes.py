"""One-time codes that confirm a data download: six digits, sent to the member's own
address, valid for a few minutes, a few tries, once. The sender is pluggable: email
(cloud.mailer) unless the app is given another as `app.state.code_sender`, as tests
give theirs.
"""

from __future__ import annotations

import secrets
from typing import Protocol

from cloud import mailer
from cloud.config import Settings
from cloud.export.models import MemberContact

DIGITS = 6


class SendError(RuntimeError):
    """The code could not be sent; the message is for the user."""


class CodeSender(Protocol):
    def send(self, contact: MemberContact, code: str, practice: str) -> str:
        """Send `code`; return where it went, masked (“d***@example.com”)."""
        ...


def new_code() -> str:
    return f"{secrets.randbelow(10 ** DIGITS):0{DIGITS}d}"


def mask_email(email: str) -> str:
    name, _, domain = email.partition("@")
    return f"{name[:1]}***@{domain}" if domain else "***"


class EmailSender:
    # What the code is for, and what to do if it was not asked for (subclasses say
    # their own): {code} and {practice} are filled in.
    subject = "Chairside data download code: {code}"
    purpose = "to schedule the data download of practice {practice}"
    otherwise = "tell your practice's administrator"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def send(self, contact: MemberContact, code: str, practice: str) -> str:
        if not contact.email:
            raise SendError("No email address is set for your one-time codes.")
        try:
            mailer.send(self.settings, to=contact.email,
                        subject=self.subject.format(code=code),
                        body=(f"Your one-time code {self.purpose.format(practice=practice)} "
                              f"is:\n\n    {code}\n\nIt is valid for 10 minutes. "
                              f"If you did not ask for it, {self.otherwise}."))
        except mailer.MailError:
            raise SendError("The code could not be mailed. Try again in a few minutes.") \
                from None
        return mask_email(contact.email)
