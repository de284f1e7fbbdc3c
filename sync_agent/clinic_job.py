"""The practice's clinic on the cloud, for practices whose PCs joined before a clinic was
made as a PC joins: without it labs cannot find the practice until an administrator
opens the Institution window. Asked once per agent run, after a sync that went well."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from app.store.db import Database
from app.store.settings_repo import SettingsRepo
from sync_agent.client import CloudClient, CloudError
from sync_agent.connection import practice_name

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ClinicReport:
    code: str | None = None  # None: the cloud could not say (an older cloud, or trouble)

    def describe(self) -> str:
        return f"the practice's clinic on the server has the code {self.code}" if self.code else ""


class ClinicJob:
    name = "clinic"

    def __init__(self, db: Database) -> None:
        self.settings = SettingsRepo(db)
        self.client: CloudClient | None = None  # the server of the sync that went well
        self.asked = False

    def prepare(self) -> str | None:
        if self.client is None:
            return "not connected to a server yet"
        if self.settings.get("institution_code"):
            return "the practice's institution code is known here"
        return "asked once since the agent started" if self.asked else None

    def run(self) -> ClinicReport:
        """The practice's institution code, asked for and kept; none when the cloud
        could not say (the next agent run asks again)."""
        self.asked = True
        if self.client is None:
            return ClinicReport()
        try:
            code = self.client.clinic(practice_name(self.settings))
        except CloudError as exc:
            log.info("the practice's clinic could not be asked for: %s", exc)
            return ClinicReport()
        self.settings.set("institution_code", code)
        return ClinicReport(code)
