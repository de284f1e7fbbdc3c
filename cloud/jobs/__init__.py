"""Jobs: the cloud's scheduled and deferred work, each run once by one server process.

    from cloud.jobs import JobError, enqueue, handler

    @handler("exports.build")
    def build_export(ctx: JobContext, payload: dict) -> None: ...

    enqueue(session, "exports.build", {"installation": iid}, run_at=when)  # then commit

A row per job in the ``jobs`` table (queued, running, succeeded, failed; attempts and
the last error in words), claimed with ``SELECT ... FOR UPDATE SKIP LOCKED`` on
PostgreSQL and a conditional UPDATE inside ``BEGIN IMMEDIATE`` on SQLite, held by a
lease the running process renews: a process that dies lets the lease lapse and another
process runs the job again (so a handler must be safe to run twice). A failed attempt is
retried after an exponential backoff; periodic jobs are one row each, queued again after
every run. The operator reads every job through ``GET /api/v1/admin/jobs``, a practice
its own through ``GET /api/v1/jobs``.

On it: the chores (expired uploads, portal sessions, setup links, temporary accounts,
the development mail folder, data downloads past their days; cloud.jobs.chores), the
data downloads' night jobs (cloud.export) and mail the mail server wants later
(cloud.mail_jobs).

Why not procrastinate: it is PostgreSQL only (its own schema, LISTEN/NOTIFY and stored
procedures) and async-first, while the cloud must run the same code on its embedded
SQLite default and keeps its schema in its own Alembic migrations. What the cloud needs
(a claim, a lease, retries, schedules) is a few hundred lines over SQLAlchemy that work
on both databases, and a job is enqueued in the same transaction as the change that
asks for it.
"""

from __future__ import annotations

from cloud.jobs.queue import JobInfo, enqueue
from cloud.jobs.registry import JobContext, JobError, every, handler

__all__ = ["JobContext", "JobError", "JobInfo", "enqueue", "every", "handler"]
