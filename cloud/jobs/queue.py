"""The jobs table's operations: enqueue, claim, renew, finish, and what an admin reads.

A claim is exactly-once across processes. On PostgreSQL the candidate row is taken with
``SELECT ... FOR UPDATE SKIP LOCKED``, so concurrent claimers each get a different row
without waiting on one another. On SQLite the claim runs in a ``BEGIN IMMEDIATE``
transaction (one writer at a time) and is a conditional UPDATE besides: it only takes
the row if it is still in the state it was read in. Every later write of the claimer
(renewal, result) is fenced the same way, on (claimed_by, attempts): a claimer whose
lease ran out and whose job was taken by another can no longer write over it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.core.ids import new_id
from app.platform.rowcount import rowcount
from cloud.jobs.models import FAILED, QUEUED, RUNNING, SUCCEEDED, Job
from cloud.models import utcnow

MAX_BACKOFF_S = 3600.0
ERROR_MAX = 1000
LOST = "the server process running it stopped before it finished"


@dataclass(frozen=True)
class Claim:
    id: str
    kind: str
    payload: dict[str, Any]
    installation_id: str | None
    attempt: int
    max_attempts: int
    worker: str


@dataclass(frozen=True)
class JobInfo:
    id: str
    kind: str
    status: str
    attempts: int
    max_attempts: int
    run_at: dt.datetime
    last_error: str
    installation_id: str | None
    schedule: str | None
    finished_at: dt.datetime | None


def enqueue(session: Session, kind: str, payload: dict[str, Any] | None = None, *,
            run_at: dt.datetime | None = None, installation_id: str | None = None,
            max_attempts: int = 5, job_id: str | None = None) -> str:
    """Queue a job in the caller's transaction (it exists if and only if the caller
    commits); returns its id (`job_id`, when the caller chose it)."""
    job_id = job_id or new_id()
    session.add(Job(id=job_id, kind=kind, payload=payload or {}, status=QUEUED,
                    run_at=run_at or utcnow(), attempts=0, max_attempts=max_attempts,
                    installation_id=installation_id, last_error=""))
    return job_id


def ensure_schedule(session: Session, kind: str, every_s: float) -> None:
    """The periodic job `kind`; declared by every process, made once."""
    row = session.scalar(select(Job).where(Job.schedule == kind))
    if row is not None:
        if row.every_s != every_s:
            row.every_s = every_s
            session.commit()
        return
    # First due one period on: a new database has nothing to expire yet.
    session.add(Job(id=new_id(), kind=kind, payload={}, status=QUEUED,
                    run_at=utcnow() + dt.timedelta(seconds=every_s),
                    attempts=0, max_attempts=3, schedule=kind, every_s=every_s,
                    last_error=""))
    try:
        session.commit()
    except IntegrityError:  # another process made it meanwhile
        session.rollback()


def _begin_write(session: Session) -> None:
    if session.in_transaction():
        session.commit()
    session.connection(execution_options={"sqlite_immediate": True})


def claim(session: Session, *, kinds: list[str], worker: str, lease_s: float) -> Claim | None:
    """Take the next due job of one of `kinds`, or None. A running job whose lease
    expired is due again (its process died); one that has used all its attempts so is
    marked failed instead."""
    if not kinds:
        return None

    def due(now: dt.datetime) -> Any:
        return and_(Job.kind.in_(kinds),
                    or_(and_(Job.status == QUEUED, Job.run_at <= now),
                        and_(Job.status == RUNNING, Job.lease_until < now)))

    # An idle poll only reads: on SQLite a write transaction, even an empty one, would
    # take the one write lock every poll.
    found = session.scalar(select(Job.id).where(due(utcnow())).limit(1))
    session.commit()
    if found is None:
        return None
    while True:
        _begin_write(session)
        now = utcnow()
        job = session.scalars(
            select(Job).where(due(now)).order_by(Job.run_at).limit(1)
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        ).first()
        if job is None:
            session.commit()
            return None
        seen = (job.status, job.attempts)
        if job.status == RUNNING and job.attempts >= job.max_attempts:
            _settle(session, job, seen, ok=False, error=LOST, now=now)
            session.commit()
            continue
        taken = session.execute(
            update(Job).where(Job.id == job.id, Job.status == seen[0],
                              Job.attempts == seen[1])
            .values(status=RUNNING, attempts=Job.attempts + 1, claimed_by=worker,
                    lease_until=now + dt.timedelta(seconds=lease_s))
            .execution_options(synchronize_session=False)
        )
        session.commit()
        if rowcount(taken) == 1:
            return Claim(job.id, job.kind, dict(job.payload), job.installation_id,
                         seen[1] + 1, job.max_attempts, worker)


def _mine(c: Claim) -> Any:
    return and_(Job.id == c.id, Job.status == RUNNING, Job.claimed_by == c.worker,
                Job.attempts == c.attempt)


def renew(session: Session, c: Claim, *, lease_s: float) -> bool:
    """Extend the lease of a running job; False when it is no longer ours."""
    _begin_write(session)
    n = session.execute(update(Job).where(_mine(c)).values(
        lease_until=utcnow() + dt.timedelta(seconds=lease_s)))
    session.commit()
    return rowcount(n) == 1


def backoff_s(attempt: int, base_s: float) -> float:
    return float(min(base_s * 2 ** max(attempt - 1, 0), MAX_BACKOFF_S))


def _settle(session: Session, job: Job, seen: tuple[str, int], *, ok: bool, error: str,
            now: dt.datetime, retry_base_s: float = 0.0) -> None:
    """A job's state after a run (or a lost run): succeeded, failed, or queued again
    (a retry after a backoff; a periodic job at its next time, its attempts reset)."""
    values: dict[str, Any] = {"claimed_by": None, "lease_until": None,
                              "last_error": error[:ERROR_MAX]}
    if not ok and job.attempts < job.max_attempts:
        values.update(status=QUEUED,
                      run_at=now + dt.timedelta(seconds=backoff_s(job.attempts, retry_base_s)))
    elif job.schedule is not None and job.every_s is not None:
        values.update(status=QUEUED, attempts=0, finished_at=now,
                      run_at=now + dt.timedelta(seconds=job.every_s))
    else:
        values.update(status=SUCCEEDED if ok else FAILED, finished_at=now)
    session.execute(update(Job).where(Job.id == job.id, Job.status == seen[0],
                                      Job.attempts == seen[1]).values(**values)
                    .execution_options(synchronize_session=False))


def finish(session: Session, c: Claim, *, error: str | None, retry_base_s: float) -> bool:
    """Record a run's outcome (`error` None: it succeeded); False when the job was no
    longer ours (our lease ran out and another process took it)."""
    _begin_write(session)
    job = session.scalars(select(Job).where(_mine(c)).with_for_update()
                          .execution_options(populate_existing=True)).first()
    if job is None:
        session.commit()
        return False
    _settle(session, job, (RUNNING, c.attempt), ok=error is None, error=error or "",
            now=utcnow(), retry_base_s=retry_base_s)
    session.commit()
    return True


def _info(j: Job) -> JobInfo:
    return JobInfo(j.id, j.kind, j.status, j.attempts, j.max_attempts, j.run_at,
                   j.last_error, j.installation_id, j.schedule, j.finished_at)


def get(session: Session, job_id: str) -> JobInfo | None:
    j = session.get(Job, job_id, populate_existing=True)
    return None if j is None else _info(j)


def listing(session: Session, *, status: str | None = None, kind: str | None = None,
            installation_id: str | None = None, limit: int = 100) -> list[JobInfo]:
    q = select(Job).order_by(Job.created_at.desc()).limit(limit)
    if status:
        q = q.where(Job.status == status)
    if kind:
        q = q.where(Job.kind == kind)
    if installation_id:
        q = q.where(Job.installation_id == installation_id)
    return [_info(j) for j in session.scalars(q)]


def counts(session: Session) -> dict[str, int]:
    """Jobs per status; `due`: queued ones whose time has come (the queue's depth)."""
    out = {s: 0 for s in (QUEUED, RUNNING, SUCCEEDED, FAILED)}
    for status, n in session.execute(select(Job.status, func.count()).group_by(Job.status)):
        out[status] = int(n)
    out["due"] = int(session.scalar(select(func.count()).select_from(Job).where(
        Job.status == QUEUED, Job.run_at <= utcnow())) or 0)
    return out


def retry(session: Session, job_id: str) -> bool:
    """Queue a failed job again at once, with its attempts renewed."""
    n = session.execute(update(Job).where(Job.id == job_id, Job.status == FAILED).values(
        status=QUEUED, attempts=0, run_at=utcnow(), finished_at=None))
    session.commit()
    return rowcount(n) == 1
