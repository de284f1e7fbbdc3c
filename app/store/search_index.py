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
    if p.deleted or p.merged_into:
        return []
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for term in name_terms(p):
        for n in (1, 2, 3):
            if len(term) >= n:
                rows[(term[:n], term)] = {
                    "pfx": term[:n],
                    "sort_key": p.sort_key,
                    "num": p.num,
                    "term": term,
                }
    for term in phone_terms(p):
        rows[(term[:3], term)] = {
            "pfx": term[:3],
            "sort_key": p.sort_key,
            "num": p.num,
            "term": term,
        }
    return list(rows.values())


def reindex(conn: Connection, patients: list[Patient]) -> None:
    if not patients:
        return
    conn.execute(delete(PatientTerm).where(PatientTerm.num.in_([p.num for p in patients])))
    index_new(conn, patients)


def index_new(conn: Connection, patients: list[Patient]) -> None:
    """Index patients that have no terms yet (numbered just now)."""
    rows = [
        (r["pfx"], r["sort_key"], r["num"], r["term"]) for p in patients for r in rows_for(p)
    ]
    if rows:
        # Tens of rows a patient, hundreds of thousands in a large pulled page: straight
        # to the driver, without a parameter dictionary per row.
        conn.exec_driver_sql(_INSERT, rows)
