"""What the Institution windows say when the server refused or could not be asked."""

from __future__ import annotations

from app.ui.shell.ops import user_message
from sync_agent.institution_service import InstitutionRefused


def said(exc: BaseException) -> str:
    """The server's own reason when it gave one in words; otherwise ours."""
    return str(exc) if isinstance(exc, InstitutionRefused) else user_message(exc)
