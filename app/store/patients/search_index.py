"""What every write of a patient keeps besides its synced fields: its local number, the
derived columns (sort key, phone digits) and the search index (see PatientTerm).

Both ways a patient changes call the same functions here: a local edit from the flush
hook (app.store.sync.outbox), a pulled change from the bulk apply
(app.store.sync.remote_apply), which writes below the ORM. The functions take a
patient's values as a mapping, so a pulled row (a dict) and an ORM object (through
`values_of`) go through the same code.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain, repeat
from typing import Any, cast

from sqlalchemy import Connection, delete, func, insert, select, update

from app.core.text import digits, fold, sort_key
from app.store.base import table_of
from app.store.models import Patient, Setting

MIN_PHONE_QUERY = 3  # shorter digit queries are dense: read in display order instead
_INSERT = "INSERT INTO patient_terms (pfx, sort_key, num, term) VALUES (?, ?, ?, ?)"
_INSERT_NEW = _INSERT.replace("INSERT", "INSERT OR IGNORE", 1)
_DELETE = "DELETE FROM patient_terms WHERE pfx = ? AND sort_key = ? AND num = ? AND term = ?"
_CHUNK = 500  # ids in one IN (...) list, well below SQLite's bound-parameter limit
_NAMES = ("first_name", "last_name")
_IDENTIFIERS = ("email", "card_number", "id_number", "insurance_card_number")
_PHONES = ("mobile", "landline")
# The columns the derived ones and the index are made from, and those they need.
INDEXED = (*_NAMES, *_IDENTIFIERS, *_PHONES, "deleted", "merged_into", "num", "sort_key")
DERIVED = ("sort_key", "phone_digits")  # local columns, never synced

Values = Mapping[str, Any]


def values_of(p: Any) -> dict[str, Any]:
    """The values the functions here read, of an ORM patient (or any object with them)."""
    return {name: getattr(p, name, None) for name in INDEXED}


def derived(p: Values) -> dict[str, str]:
    """The derived columns of a patient with these values."""
    return {
        "sort_key": sort_key(p.get("first_name"), p.get("last_name")),
        "phone_digits": " ".join(x for x in (digits(p.get(n)) for n in _PHONES) if x),
    }


def new_numbers(conn: Connection, count: int) -> list[int]:
    """The next `count` local patient numbers (see Patient.num), in the caller's
    transaction."""
    if count <= 0:
        return []
    top = conn.execute(select(func.coalesce(func.max(Patient.num), 0))).scalar_one()
    return list(range(top + 1, top + count + 1))


def name_terms(p: Values) -> set[str]:
    first, last = fold(p.get("first_name")), fold(p.get("last_name"))
    terms = {first, last, *first.split(" "), *last.split(" ")}
    if first or last:
        # The folded full name, both ways round: folding "first last" whole gives the two
        # folded names joined by a space (a space composes with nothing, and the marks
        # folding drops are dropped either way), and the names are mostly folded already.
        terms.add(f"{first} {last}".strip())
        terms.add(f"{last} {first}".strip())
    for name in _IDENTIFIERS:
        terms.add(fold(p.get(name)))
    terms.discard("")
    return terms


def phone_terms(p: Values) -> set[str]:
    out: set[str] = set()
    for name in _PHONES:
        d = digits(p.get(name))
        for i in range(0, max(0, len(d) - MIN_PHONE_QUERY + 1)):
            out.add(d[i:])
    return out


def rows_for(p: Any) -> list[dict[str, Any]]:
    """The index rows of a patient (a mapping of its values or an object with them)."""
    values = p if isinstance(p, Mapping) else values_of(p)
    return [
        {"pfx": pfx, "sort_key": values["sort_key"], "num": values["num"], "term": term}
        for pfx, term in _keys(values)
    ]


def _keys(p: Values) -> set[tuple[str, str]]:
    """(prefix bucket, term) of each index row of a patient; none for a patient that
    is deleted or merged into another."""
    if p.get("deleted") or p.get("merged_into"):
        return set()
    keys: set[tuple[str, str]] = set()
    add = keys.add
    for term in name_terms(p):
        # Its 1-, 2- and 3-character buckets; a shorter term is in fewer (the set keeps
        # one of the equal keys).
        add((term[:1], term))
        add((term[:2], term))
        add((term[:3], term))
    for term in phone_terms(p):
        add((term[:3], term))
    return keys


def stored(conn: Connection, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The indexed values of patients as stored now (before a write changes them), by id."""
    ids = list(ids)
    found: dict[str, dict[str, Any]] = {}
    for i in range(0, len(ids), _CHUNK):
        stmt = select(Patient.id, *(getattr(Patient, n) for n in INDEXED)).where(
            Patient.id.in_(ids[i : i + _CHUNK]))
        for r in conn.execute(stmt).mappings():
            found[r["id"]] = {n: r[n] for n in INDEXED}
    return found


def reindex(conn: Connection, changes: Iterable[tuple[Values, Values]]) -> None:
    """Bring the index rows of patients from their stored values to their new ones, each
    change a (stored, new) pair of values.

    The rows to drop are found by their keys, computed from the stored values: no index
    by patient number to keep up (it doubled the index's size and a fifth of its cost)."""
    gone: list[tuple[str, str, int, str]] = []
    added: list[tuple[str, str, int, str]] = []
    for before, after in changes:
        old, new = _rows(before), _rows(after)
        gone.extend(old - new)
        added.extend(new - old)
    if gone:
        conn.exec_driver_sql(_DELETE, gone)
    if added:
        # A row already there (never expected) must not fail the write.
        conn.exec_driver_sql(_INSERT_NEW, added)


def _rows(p: Values) -> set[tuple[str, str, int, str]]:
    sort, num = p["sort_key"], p["num"]
    return {(pfx, sort, num, term) for pfx, term in _keys(p)}


def index_new(conn: Connection, patients: Iterable[Values]) -> None:
    """Index patients that have no terms yet (numbered just now)."""
    rows = [(pfx, p["sort_key"], p["num"], term) for p in patients for pfx, term in _keys(p)]
    if rows:
        # Tens of rows a patient, hundreds of thousands in a large pulled page: straight
        # to the driver, without a parameter dictionary per row.
        conn.exec_driver_sql(_INSERT, rows)


# Settings key: patients numbered from this one up may lack some of their index rows
# (see defer); absent when every patient is indexed.
PENDING = "index_pending_from"
# New patients in one write from which their rows wait for build_pending: one pass,
# in the index's own order, instead of tens of rows a patient scattered all over it.
DEFER_AT = 1000


def defer(conn: Connection, first_num: int) -> None:
    """Note, in the caller's transaction (the one that writes these patients), that the
    patients numbered from `first_num` up are not indexed yet: the note survives a crash,
    and build_pending indexes them. Written below the ORM: no flush (and none of its
    hooks) runs for it."""
    table = table_of(Setting)
    held = conn.execute(select(table.c.value).where(table.c.key == PENDING)).first()
    if held is None:
        conn.execute(insert(table).values(key=PENDING, value=first_num))
    elif int(held[0]) > first_num:
        conn.execute(update(table).where(table.c.key == PENDING).values(value=first_num))


def pending(conn: Connection) -> int | None:
    """The first patient number that may lack index rows (see defer); None when none."""
    table = table_of(Setting)
    held = conn.execute(select(table.c.value).where(table.c.key == PENDING)).first()
    return None if held is None else int(held[0])


# Index rows a transaction of a deferred build at most: the app's writes wait for each
# (a first pull of 100,000 patients makes 3 million rows, 10 s in one transaction).
ROWS_A_PART = 1_000_000


@dataclass
class Build:
    """A deferred build (build_pending), planned in one transaction and written in parts,
    a transaction each.

    The rows go in in the index's own order (pfx, sort_key, num, term): into an index
    that holds none of them yet that is an append at its end, page after page, where
    rows a patient at a time land all over it. The order comes from the patients read
    by (sort_key, num), with each patient's rows dealt into their prefix buckets: a
    bucket sort, with no comparison of millions of rows. A part is a run of buckets."""

    start: int
    values: dict[int, tuple[Any, ...]]  # the indexed values read, by patient number
    # For each prefix bucket, the sort keys, numbers and terms of its rows in order:
    # flat lists rather than millions of row tuples held at once.
    buckets: dict[str, tuple[list[str], list[int], list[str]]]
    parts: list[list[str]]  # the prefixes of each part, in order
    # The values were read in the transaction that writes the parts: none can have
    # changed since. False when the parts are written in transactions of their own.
    fresh: bool = True


def plan(conn: Connection, start: int, rows_a_part: int | None = None) -> Build:
    """The rows of the patients numbered from `start` up, in order, in parts of about
    `rows_a_part` rows (one part: None) (see Build)."""
    columns = ", ".join(INDEXED)
    # The driver's cursor: a practice's hundred thousand rows without a result object
    # wrapped around each (the values are the driver's either way).
    cursor = conn.connection.cursor()
    try:
        patients = cursor.execute(
            f"SELECT {columns} FROM patients WHERE num >= ? ORDER BY sort_key, num", (start,)
        ).fetchall()
    finally:
        cursor.close()
    buckets: dict[str, tuple[list[str], list[int], list[str]]] = {}
    values: dict[int, tuple[Any, ...]] = {}
    for row in patients:
        p = dict(zip(INDEXED, row, strict=True))
        sort, num = p["sort_key"], p["num"]
        values[num] = tuple(row)
        for pfx, term in sorted(_keys(p)):
            bucket = buckets.get(pfx)
            if bucket is None:
                bucket = buckets[pfx] = ([], [], [])
            bucket[0].append(sort)
            bucket[1].append(num)
            bucket[2].append(term)
    # Python orders text by code point, SQLite (BINARY) by its UTF-8 bytes: the same
    # order. A row out of order would only cost a search of the index, not a wrong row.
    parts: list[list[str]] = [[]]
    size = 0
    for pfx in sorted(buckets):
        if rows_a_part is not None and size >= rows_a_part:
            parts.append([])
            size = 0
        parts[-1].append(pfx)
        size += len(buckets[pfx][0])
    return Build(start, values, buckets, parts)


def write_part(conn: Connection, build: Build, part: int) -> None:
    """Insert the rows of one part of `build`, in the caller's transaction.

    A part written in another transaction than the values were read in (see
    Build.fresh): a patient edited meanwhile (here or by a pull) gets this part's rows made from
    his values as stored now. His rows already written, made from the values read, were
    dropped by the edit where these values no longer make them (reindex deletes what
    the stored values made): every row in the index is one his stored values make."""
    pfxs = build.parts[part]
    changed: dict[int, dict[str, Any]] = {}
    if not build.fresh:
        columns = ", ".join(INDEXED)
        now = {row[INDEXED.index("num")]: tuple(row) for row in conn.exec_driver_sql(
            f"SELECT {columns} FROM patients WHERE num >= ?", (build.start,))}
        changed = {num: dict(zip(INDEXED, now[num], strict=True)) if num in now else {}
                   for num, held in build.values.items() if now.get(num) != held}
    rows: Iterable[tuple[str, str, int, str]] = chain.from_iterable(
        zip(repeat(pfx), *build.buckets[pfx]) for pfx in pfxs)
    if changed:
        rows = (r for r in rows if r[2] not in changed)
    # Straight to the driver, which takes the rows as they are made (a first pull of a
    # large practice makes millions).
    cursor = conn.connection.cursor()
    try:
        # sqlite3 takes any iterable here; the DB-API protocol's type asks for a
        # Sequence, which would hold every row in memory at once.
        cursor.executemany(_INSERT_NEW, cast("Sequence[tuple[str, str, int, str]]", rows))
        wanted = set(pfxs)
        redone = sorted(r for p in changed.values() if p
                        for r in _rows(p) if r[0] in wanted)
        if redone:
            cursor.executemany(_INSERT_NEW, redone)
    finally:
        cursor.close()


def build_pending(conn: Connection) -> int:
    """Index the patients noted by defer and clear the note, all in the caller's
    transaction (SyncRepo.finish_index writes a large build in parts); returns how many
    patients were read.

    A patient edited meanwhile (a local edit, a later pulled change) has some of his
    rows already, all of them made from his values of today (reindex deletes what his
    old values made and adds what his new values make): his rows are made again from
    what is stored now and the missing ones added, the others ignored."""
    start = pending(conn)
    if start is None:
        return 0
    build = plan(conn, start)
    write_part(conn, build, 0)
    done(conn)
    return len(build.values)


def done(conn: Connection) -> None:
    """Clear the note of defer: every patient is indexed."""
    table = table_of(Setting)
    conn.execute(delete(table).where(table.c.key == PENDING))


def build_all(conn: Connection) -> int:
    """Make the whole index again from the patients as stored (an upgrade whose terms
    are made differently), in the caller's transaction; returns how many patients."""
    conn.exec_driver_sql("DELETE FROM patient_terms")
    done(conn)
    build = plan(conn, 0)
    write_part(conn, build, 0)
    return len(build.values)

