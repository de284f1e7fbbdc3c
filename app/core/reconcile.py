"""Reconciliation digests: do two replicas hold the same rows at the same versions?

Both sides compute, per entity and for a range of ids, the number of rows and a
digest over (id, version), where a row's version is the greatest HLC stamp of its
fields. Equal digests: the range is in sync. Different: split the range and compare
the halves, down to ranges small enough to exchange their (id, version) lists, and
repair only the rows that differ.

The digest, exactly: the lowercase hex SHA-256 of the UTF-8 text made of one line
``"<id>|<version>\\n"`` per row, rows sorted by id (the 36-character lowercase UUID
text, compared as text). An empty range digests the empty text. Tombstoned rows
count like any other. A range is ``start <= id < end``; an empty bound is open.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

EMPTY_DIGEST = hashlib.sha256(b"").hexdigest()


def row_version(stamps: Mapping[str, str] | Iterable[str]) -> str:
    """A row's version: the greatest of its fields' HLC stamps (text order)."""
    values = stamps.values() if isinstance(stamps, Mapping) else stamps
    return max(values, default="")


def range_digest(rows: Iterable[tuple[str, str]]) -> tuple[int, str]:
    """(count, digest) of (id, version) pairs, in any order."""
    h = hashlib.sha256()
    count = 0
    for entity_id, version in sorted(rows):
        h.update(f"{entity_id}|{version}\n".encode())
        count += 1
    return count, h.hexdigest()
