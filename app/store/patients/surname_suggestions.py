"""Surnames one typing slip away from a search that found nothing ("Did you mean …?").

A surname is offered when it is the query with one letter dropped, added, changed or
two letters swapped, or, for a query of four letters or more, when it starts with such
a string (a surname still being typed). The candidates are read from the patient
list's index on sort_key, which starts with the folded surname: a dropped or swapped
letter is one lookup a position; a letter added or changed is one lookup for each
letter that really follows the letters before it in some surname, found by skipping
from one such letter to the next. The first letter is taken as typed when it comes to
adding or changing one (people rarely get it wrong): no walk over every surname's
first letter. The cost grows with the query's length, not with the practice.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy.orm import Session

from app.core.text import digits, fold
from app.store.dto import Viewer

MIN_QUERY = 3  # letters typed before a slip can be told from a different name
MIN_PREFIX = 4  # ... and before a surname that only starts like the query is offered
LIMIT = 3
_END = "\U0010ffff"  # sorts after every character: the end of a prefix range
_SEP = "\x1f"  # ends the surname in a sort key (app.core.text.sort_key)
_NEXT_MAX = 64  # letters tried after one prefix at most

_LIVE = "deleted = 0 AND merged_into IS NULL"
# Display order, the list's own index (ix_patients_list); `|| ''` keeps SQLite on it
# for a member rather than on the owner index.
_FIRST = (f"SELECT sort_key, last_name FROM patients WHERE sort_key >= ? AND sort_key < ?"
          f" AND {_LIVE} {{owner}} ORDER BY sort_key, num LIMIT 1")
_NEXT = ("SELECT sort_key FROM patients WHERE sort_key > ? AND sort_key < ?"
         " ORDER BY sort_key LIMIT 1")


def suggest(session: Session, viewer: Viewer, query: str) -> list[str]:
    """Up to LIMIT surnames, as written on file, of patients this viewer sees, close to
    `query`: whole surnames first, then surnames that start like it."""
    q = fold(query)
    if len(q) < MIN_QUERY or _SEP in q or digits(q) == q.replace(" ", ""):
        return []
    cursor = session.connection().connection.cursor()
    try:
        return _closest(cursor, viewer, q)
    finally:
        cursor.close()


def _closest(cursor: Any, viewer: Viewer, q: str) -> list[str]:
    owner = ""
    owners: tuple[str, ...] = ()
    if not viewer.is_admin:
        owners = tuple(viewer.owner_ids)
        owner = f"AND responsible_user_id || '' IN ({', '.join('?' * len(owners))})"
    first = _FIRST.format(owner=owner)
    whole: dict[str, str] = {}
    starts: dict[str, str] = {}
    for c in sorted(_candidates(cursor, q)):
        row = cursor.execute(first, (c, c + _END, *owners)).fetchone()
        if row is None:
            continue
        surname = row[0].split(_SEP, 1)[0]
        if surname == c:
            whole.setdefault(surname, row[1])
        elif len(q) >= MIN_PREFIX and len(c) >= MIN_PREFIX:
            starts.setdefault(surname, row[1])
    found = list(whole.values()) + [s for k, s in starts.items() if k not in whole]
    return list(dict.fromkeys(found))[:LIMIT]


def _candidates(cursor: Any, q: str) -> set[str]:
    """Strings one edit from q (none with its first letter added or changed)."""
    out: set[str] = set()
    n = len(q)
    for i in range(n):
        out.add(q[:i] + q[i + 1 :])  # a letter too many
        if i + 1 < n:
            out.add(q[:i] + q[i + 1] + q[i] + q[i + 2 :])  # two letters swapped
    for i in range(1, n + 1):
        for ch in _next_letters(cursor, q[:i]):
            out.add(q[:i] + ch + q[i:])  # a letter left out
            if i < n:
                out.add(q[:i] + ch + q[i + 1 :])  # a wrong letter
    out.discard(q)
    return {c for c in out if c.strip()}


def _next_letters(cursor: Any, prefix: str) -> Iterator[str]:
    """The letters that follow `prefix` in some patient's surname, by index skips."""
    after, at = prefix, len(prefix)
    for _ in range(_NEXT_MAX):
        row = cursor.execute(_NEXT, (after, prefix + _END)).fetchone()
        if row is None or len(row[0]) <= at:
            return
        ch = row[0][at]
        if ch != _SEP:
            yield ch
        after = prefix + ch + _END
