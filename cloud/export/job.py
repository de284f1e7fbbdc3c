"""The data download's jobs: making a scheduled ZIP at night, and deleting the ones
past their 7 days. The runner calls them with its context (settings, sessionmaker)."""

from __future__ import annotations

import logging
from typing import Any, Protocol

from sqlalchemy.orm import Session, sessionmaker

from cloud.config import Settings
from cloud.export import service

log = logging.getLogger("cloud.export")


class Context(Protocol):
    @property
    def settings(self) -> Settings: ...
    @property
    def sessionmaker(self) -> sessionmaker[Session]: ...


def run_data_download(ctx: Context, payload: dict[str, Any]) -> None:
    """Make the download `payload["download_id"]` (safe to run twice)."""
    service.build(ctx.sessionmaker, ctx.settings, str(payload["download_id"]))


def expire_data_downloads(ctx: Context, _payload: dict[str, Any]) -> None:
    with ctx.sessionmaker() as session:
        n = service.expire(session, ctx.settings)
    if n:
        log.info("deleted %d data downloads past their 7 days", n)
