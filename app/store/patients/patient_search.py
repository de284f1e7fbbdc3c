"""Search as you type over the patient list, in display order, a page at a time.

Plan, by query:
- empty query: the patients in display order (index on sort_key);
- a text query (or 3+ digits): the prefix bucket of its first characters in
  patient_terms, read in display order; duplicates (one patient, several matching
  terms) sit next to each other, so SQLite drops them without sorting, and the read
  stops after a page — cost bounded by the page, not by the database;
- one or two digits: phone numbers almost all contain them, so read patients in
  display order and test each one's digits (or look its terms up by primary key),
  which also stops after a page;
- with filters (gender, case type, visit dates) or another sort: the general query.

These run once per keystroke. The fast paths are one statement each, built once at
import and executed on the session's connection as Core: no ORM row processing, and
SQLAlchemy's compiled cache answers without compiling again.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    String,
    bindparam,
    exists,
    func,
    or_,
    select,
)
from sqlalchemy.orm import Session

from app.core.text import digits, fold
from app.store.access import visible
from app.store.dto import PatientFilter, PatientRow, Viewer
from app.store.models import Patient, PatientTerm, Visit

PAGE = 50
SHORT_DIGITS = 3  # digit queries shorter than this are not in the phone buckets
_TERM_END = "\U0010ffff"  # sorts after every character: the end of a prefix range

_ROW_COLUMNS = (
    Patient.id,
    Patient.num,
    Patient.first_name,
    Patient.last_name,
    Patient.gender,
    Patient.birth_date,
    Patient.mobile,
    Patient.email,
    Patient.card_number,
    Patient.sort_key,
)


def _to_row(r: Any) -> PatientRow:
    return PatientRow(
        r.id,
        r.num,
        r.first_name,
        r.last_name or "",
        r.gender,
        r.birth_date,
        r.mobile,
        r.email,
        r.card_number,
        r.sort_key,
    )


def _normalised(query: str) -> tuple[str, bool]:
    q = fold(query)
    is_digits = bool(q) and digits(q) == q.replace(" ", "").replace("+", "").replace("-", "")
    if is_digits and digits(q):
        return digits(q), True
    return q, False


def _term_range(q: str) -> dict[str, str]:
    """Bind values: q's bucket and the range of terms that start with q."""
    return {"pfx": q[:3], "lo": q, "hi": q + _TERM_END}


# The fast statements ------------------------------------------------------------------
_LIMIT = bindparam("limit", type_=Integer)
_OFFSET = bindparam("offset", type_=Integer)
_LIVE = (Patient.deleted.is_(False), Patient.merged_into.is_(None))
# A member's own id and the ids of him made on other PCs (dto.Viewer.owner_ids).
_OWNERS = bindparam("owners", expanding=True)
_OWNER = Patient.responsible_user_id.in_(_OWNERS)
_IN_BUCKET = (
    PatientTerm.pfx == bindparam("pfx"),
    PatientTerm.term >= bindparam("lo"),
    PatientTerm.term < bindparam("hi"),
)


# For a member, the bucket is still read in display order and each patient checked;
# `|| ''` keeps SQLite from reading all of his patients first through the owner index.
_OWNER_OF_TERM = Patient.responsible_user_id.concat("").in_(_OWNERS)


def _matches(for_member: bool) -> Any:
    """(sort_key, num) of a page of patients with a term in q's range, in display order."""
    stmt = select(PatientTerm.sort_key, PatientTerm.num).where(*_IN_BUCKET)
    if for_member:
        stmt = stmt.join(Patient, Patient.num == PatientTerm.num).where(*_LIVE, _OWNER_OF_TERM)
    stmt = stmt.distinct().order_by(PatientTerm.sort_key, PatientTerm.num)
    return stmt.limit(_LIMIT).offset(_OFFSET).subquery("m")


def _by_terms(for_member: bool) -> Select[Any]:
    m = _matches(for_member)
    return (
        select(*_ROW_COLUMNS)
        .join_from(m, Patient, Patient.num == m.c.num)
        .where(*_LIVE)
        .order_by(m.c.sort_key, m.c.num)
    )


def _count_terms(for_member: bool) -> Select[Any]:
    stmt = select(PatientTerm.sort_key, PatientTerm.num).where(*_IN_BUCKET)
    if for_member:
        stmt = stmt.join(Patient, Patient.num == PatientTerm.num).where(*_LIVE, _OWNER_OF_TERM)
    return select(func.count()).select_from(stmt.distinct().subquery())


def _short_digits_condition(q: Any) -> ColumnElement[bool]:
    """Phone digits contain q, or a name-like term (card, ID number...) starts with it.

    The term is looked up by primary key (pfx, sort_key, num): patients come in display
    order, so the lookups walk q's bucket front to back. `num + 0` keeps SQLite from
    using the index on num instead, whose lookups would jump around."""
    term = exists().where(
        PatientTerm.pfx == q,
        PatientTerm.sort_key == Patient.sort_key,
        PatientTerm.num + 0 == Patient.num,
    )
    return or_(func.instr(Patient.phone_digits, q) > 0, term)


def _in_order(for_member: bool, short_digits: bool) -> Select[Any]:
    stmt = select(*_ROW_COLUMNS).where(*_LIVE)
    if for_member:
        stmt = stmt.where(_OWNER)
    if short_digits:
        stmt = stmt.where(_short_digits_condition(bindparam("q", type_=String)))
    stmt = stmt.order_by(Patient.sort_key, Patient.num)
    return stmt.limit(_LIMIT).offset(_OFFSET)


_BY_TERMS = {member: _by_terms(member) for member in (False, True)}
_COUNT_TERMS = {member: _count_terms(member) for member in (False, True)}
_IN_ORDER = {(m, d): _in_order(m, d) for m in (False, True) for d in (False, True)}


def _fast(viewer: Viewer, q: str, is_digits: bool) -> tuple[Select[Any], dict[str, Any]]:
    member = not viewer.is_admin
    params: dict[str, Any] = {"owners": list(viewer.owner_ids)} if member else {}
    if q and not (is_digits and len(q) < SHORT_DIGITS):
        return _BY_TERMS[member], params | _term_range(q)
    if q:
        return _IN_ORDER[(member, True)], params | {"q": q}
    return _IN_ORDER[(member, False)], params


# The general query --------------------------------------------------------------------
def _filters(stmt: Select[Any], f: PatientFilter) -> Select[Any]:
    if f.gender:
        stmt = stmt.where(Patient.gender == f.gender)
    if f.case_type:
        # Types are listed "a, b" (or as typed, from older data): compare each one
        # between commas, case and spaces around them not counting.
        listed = func.replace(
            func.replace("," + func.coalesce(Patient.case_types, "") + ",", " ,", ","), ", ", ","
        )
        wanted = "," + f.case_type.strip().lower() + ","
        stmt = stmt.where(func.instr(func.lower(listed), wanted) > 0)
    if f.visit_from or f.visit_to:
        conds = [Visit.patient_id == Patient.id, Visit.deleted.is_(False)]
        if f.visit_from:
            conds.append(Visit.visit_date >= f.visit_from)
        if f.visit_to:
            conds.append(Visit.visit_date <= f.visit_to)
        stmt = stmt.where(exists().where(*conds))
    return stmt


def _query_condition(q: str, is_digits: bool) -> ColumnElement[bool]:
    if is_digits and len(q) < SHORT_DIGITS:
        return _short_digits_condition(q)
    r = _term_range(q)
    terms = select(PatientTerm.num).where(
        PatientTerm.pfx == r["pfx"], PatientTerm.term >= r["lo"], PatientTerm.term < r["hi"]
    )
    return Patient.num.in_(terms)


def _order(f: PatientFilter) -> list[Any]:
    if f.sort == "-name":
        return [Patient.sort_key.desc(), Patient.num.desc()]
    if f.sort == "birth_date":
        return [Patient.birth_date.is_(None), Patient.birth_date, Patient.sort_key, Patient.num]
    if f.sort == "-birth_date":
        return [
            Patient.birth_date.is_(None),
            Patient.birth_date.desc(),
            Patient.sort_key,
            Patient.num,
        ]
    return [Patient.sort_key, Patient.num]


def _general(viewer: Viewer, f: PatientFilter, q: str, is_digits: bool) -> Select[Any]:
    stmt = select(*_ROW_COLUMNS).where(visible(viewer))
    if q:
        stmt = stmt.where(_query_condition(q, is_digits))
    return _filters(stmt, f).order_by(*_order(f))


# Entry points -------------------------------------------------------------------------
def search(
    session: Session,
    viewer: Viewer,
    f: PatientFilter,
    *,
    limit: int = PAGE,
    offset: int = 0,
) -> list[PatientRow]:
    """One page of the patients this viewer sees that match `f`, in display order."""
    if limit <= 0:
        return []
    q, is_digits = _normalised(f.query)
    conn = session.connection()
    if not f.has_filters and f.sort == "name":
        stmt, params = _fast(viewer, q, is_digits)
        rows = conn.execute(stmt, params | {"limit": limit, "offset": offset})
    else:
        rows = conn.execute(_general(viewer, f, q, is_digits).limit(limit).offset(offset))
    return [_to_row(r) for r in rows]


def count(session: Session, viewer: Viewer, f: PatientFilter) -> int:
    """How many patients this viewer sees match `f`."""
    q, is_digits = _normalised(f.query)
    conn = session.connection()
    if q and not f.has_filters and not (is_digits and len(q) < SHORT_DIGITS):
        # The index holds terms of live patients only (see search_index.rows_for).
        member = not viewer.is_admin
        params = _term_range(q) | ({"owners": list(viewer.owner_ids)} if member else {})
        return int(conn.execute(_COUNT_TERMS[member], params).scalar_one())
    stmt = select(func.count()).select_from(Patient).where(visible(viewer))
    if q:
        stmt = stmt.where(_query_condition(q, is_digits))
    return int(conn.execute(_filters(stmt, f)).scalar_one())
