"""Whether a database is at this program's newest schema, told without Alembic.

Every opening of a practice database asks; loading Alembic and reading its scripts to
answer costs a fifth of a second of the app's start-up. The scripts' own
`revision = "…"` and `down_revision = "…"` lines name the newest one: the revision no
other script revises. A database at any other revision (older, newer, none), or
scripts that do not read plainly, are left to migrate.migrate, which upgrades or
refuses as before.
"""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

VERSIONS = Path(__file__).with_name("migrations") / "versions"
_REVISION = re.compile(r'^revision\s*=\s*["\']([^"\']+)["\']', re.MULTILINE)
_REVISES = re.compile(r'^down_revision\s*=\s*["\']([^"\']+)["\']', re.MULTILINE)


def newest_revision() -> str | None:
    """The one revision no script revises; None when the scripts do not say plainly."""
    revisions: set[str] = set()
    revised: set[str] = set()
    for script in VERSIONS.glob("*.py"):
        text = script.read_text(encoding="utf-8")
        found = _REVISION.findall(text)
        if len(found) != 1:
            return None
        revisions.add(found[0])
        revised.update(_REVISES.findall(text))
    heads = revisions - revised
    return heads.pop() if len(heads) == 1 else None


def is_current(engine: Engine) -> bool:
    """True when the database needs no migration (it is at the newest revision)."""
    newest = newest_revision()
    if newest is None:
        return False
    try:
        with engine.connect() as conn:
            stored = [r[0] for r in conn.exec_driver_sql("SELECT version_num FROM alembic_version")]
    except DBAPIError:  # a new database: no version table yet
        return False
    return stored == [newest]
