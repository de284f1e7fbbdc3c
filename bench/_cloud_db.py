"""The cloud's database as the benchmarks read it: SQLite in the cloud's data folder, or
a PostgreSQL database made for the run (as a practice's cloud would use)."""

from __future__ import annotations

import os
import sqlite3
from typing import Any

from bench._cloud_util import Cloud


class CloudDb:
    """Read-only queries on the cloud's database, SQLite or PostgreSQL."""

    def __init__(self, cloud: Cloud, url: str | None) -> None:
        self.url = url
        self.path = cloud.data / "cloud.sqlite3"
        self.engine: Any = None
        if url:
            from sqlalchemy import create_engine

            self.engine = create_engine(url, pool_size=2)

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        if self.engine is None:
            with sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30) as c:
                return c.execute(sql).fetchall()
        from sqlalchemy import text

        with self.engine.connect() as c:
            return [tuple(r) for r in c.execute(text(sql))]


def fresh_postgres(url: str) -> str:
    """A new, empty database next to the one `url` names (its role may create
    databases, as scripts/postgres.sh makes it); its URL."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"chairside_outage_{os.getpid()}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        c.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def drop_postgres(url: str, fresh: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f"DROP DATABASE IF EXISTS {make_url(fresh).database} WITH (FORCE)"))
    admin.dispose()
