"""The jobs table: work the cloud does later, once, on whichever process claims it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from cloud.models import Base, utcnow

QUEUED = "queued"
RUNNING = "running"
SUCCEEDED = "succeeded"
FAILED = "failed"
STATUSES = (QUEUED, RUNNING, SUCCEEDED, FAILED)


class Job(Base):
    """One job. A periodic one (`schedule` set) is one row for ever: after each run it
    is queued again `every_s` later, so processes that all declare it never double it."""

    __tablename__ = "jobs"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]]
    # The practice a job is for (data downloads, dissolutions); None: the server's own.
    installation_id: Mapped[str | None] = mapped_column(String(32), index=True)
    status: Mapped[str] = mapped_column(String(16), default=QUEUED)
    run_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=5)
    # Who runs it and until when: a claim not renewed by then was lost with its process.
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[dt.datetime | None]
    last_error: Mapped[str] = mapped_column(String(1000), default="")
    schedule: Mapped[str | None] = mapped_column(String(64), unique=True)
    every_s: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None]
    __table_args__ = (Index("ix_jobs_status_run_at", "status", "run_at"),)
