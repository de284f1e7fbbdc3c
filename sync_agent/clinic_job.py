"""The practice's clinic on the cloud, for practices whose PCs joined before a clinic was
made as a PC joins: without it labs cannot find the practice until an administrator
opens the Institution window. Asked once per agent run, after a sync that went well."""

from __future__ import annotations

import logging

from app.store.db import Database
from app.store.settings_repo import SettingsRepo
from sync_agent.client import CloudClient, CloudError
from sync_agent.connection import practice_name

log = logging.getLogger(__name__)


def ensure_clinic(db: Database, client: CloudClient) -> bool:
    """True when the practice's institution code is known here (asked for now if it was
    not); False when the cloud could not say (an older cloud, or trouble: next run)."""
    settings = SettingsRepo(db)
    if settings.get("institution_code"):
        return True
    try:
        code = client.clinic(practice_name(settings))
    except CloudError as exc:
        log.info("the practice's clinic could not be asked for: %s", exc)
        return False
    settings.set("institution_code", code)
    log.info("the practice's clinic on the server has the code %s", code)
    return True
