"""The patient search index: derived columns and prefix buckets (see PatientTerm).

Maintained from the flush hook for every patient write — local edits and changes
pulled from the cloud alike — so it never drifts from the patients table.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete

from app.core.text import digits, fold, sort_key
from app.store.models import Patient, PatientTerm

MIN_PHONE_QUERY = 3  # shorter digit queries are dense: read in display order instead
_INSERT = "INSERT INTO patient_terms (pfx, sort_key, num, term) VALUES (?, ?, ?, ?)"


def name_terms(p: Any) -> set[str]:
    terms: set[str] = set()
    for raw in (p.first_name, p.last_name):
        folded = fold(raw)
        if folded:
            terms.add(folded)
            terms.update(folded.split(" "))
    full = fold(f"{p.first_name or ''} {p.last_name or ''}")
    if full:
        terms.add(full)
        terms.add(fold(f"{p.last_name or ''} {p.first_name or ''}"))
    for raw in (p.email, p.card_number, p.id_number, p.insurance_card_number):
        folded = fold(raw)
        if folded:
            terms.add(folded)
    return {t for t in terms if t}


def phone_terms(p: Any) -> set[str]:
    out: set[str] = set()
    for raw in (p.mobile, p.landline):
        d = digits(raw)
        for i in range(0, max(0, len(d) - MIN_PHONE_QUERY + 1)):
            out.add(d[i:])
    return out


def refresh_derived(p: Patient) -> None:
    p.sort_key = sort_key(p.first_name, p.last_name)
    p.phone_digits = " ".join(x for x in (digits(p.mobile), digits(p.landline)) if x)


def rows_for(p: Any) -> list[dict[str, Any]]:
    return [
        {"pfx": pfx, "sort_key": p.sort_key, "num": p.num, "term": term}
        for pfx, term in _keys(p)
    ]


def _keys(p: Any) -> set[tuple[str, str]]:
    """(prefix bucket, term) of each index row of a patient; none for a patient that
    is deleted or merged into another."""
    if p.deleted or p.merged_into:
        return set()
    keys: set[tuple[str, str]] = set()
    for term in name_terms(p):
        for n in (1, 2, 3):
            if len(term) >= n:
                keys.add((term[:n], term))
    for term in phone_terms(p):
        keys.add((term[:3], term))
    return keys


def reindex(conn: Connection, patients: list[Patient]) -> None:
    if not patients:
        return
    conn.execute(delete(PatientTerm).where(PatientTerm.num.in_([p.num for p in patients])))
    index_new(conn, patients)


def index_new(conn: Connection, patients: list[Patient]) -> None:
    """Index patients that have no terms yet (numbered just now)."""
    rows = [(pfx, p.sort_key, p.num, term) for p in patients for pfx, term in _keys(p)]
    if rows:
        # Tens of rows a patient, hundreds of thousands in a large pulled page: straight
        # to the driver, without a parameter dictionary per row.
        conn.exec_driver_sql(_INSERT, rows)
