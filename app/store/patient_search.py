"""Search as you type over the patient list, in display order, a page at a time.

Plan, by query:
- empty query: the patients in display order (index on sort_key);
- a text query: read the prefix bucket of its first characters from patient_terms in
  display order and stop after a page — cost bounded by the page, not the database;
- one or two digits: phone numbers almost all contain them, so read patients in
  display order and test each one's digits, which also stops after a page;
- with filters (gender, case type, visit dates): the general query.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, and_, exists, func, or_, select, tuple_
from sqlalchemy.orm import Session

from app.core.text import digits, fold
from app.store.access import visible
from app.store.dto import PatientFilter, PatientRow, Viewer
from app.store.models import Patient, PatientTerm, Visit

PAGE = 50
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


def _term_match(q: str) -> Any:
    """patient_terms rows whose term starts with q (within q's bucket)."""
    pfx = q[:3]
    cond = PatientTerm.pfx == pfx
    if len(q) > 3:
        cond = and_(cond, PatientTerm.term >= q, PatientTerm.term < q + "\U0010ffff")
    return cond


def _filters(stmt: Select[Any], f: PatientFilter) -> Select[Any]:
    if f.gender:
        stmt = stmt.where(Patient.gender == f.gender)
    if f.case_type:
        stmt = stmt.where(
            func.instr("," + func.coalesce(Patient.case_types, "") + ",", "," + f.case_type + ",")
            > 0
        )
    if f.visit_from or f.visit_to:
        conds = [Visit.patient_id == Patient.id, Visit.deleted.is_(False)]
        if f.visit_from:
            conds.append(Visit.visit_date >= f.visit_from)
        if f.visit_to:
            conds.append(Visit.visit_date <= f.visit_to)
        stmt = stmt.where(exists().where(*conds))
    return stmt


def _query_condition(q: str, is_digits: bool) -> Any:
    if is_digits and len(q) < 3:
        return or_(
            func.instr(Patient.phone_digits, q) > 0,
            Patient.num.in_(select(PatientTerm.num).where(_term_match(q))),
        )
    return Patient.num.in_(select(PatientTerm.num).where(_term_match(q)))


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


def search(
    session: Session,
    viewer: Viewer,
    f: PatientFilter,
    *,
    limit: int = PAGE,
    offset: int = 0,
) -> list[PatientRow]:
    q, is_digits = _normalised(f.query)
    if (q and not is_digits) or (is_digits and len(q) >= 3):
        if not f.has_filters and f.sort == "name":
            return _search_terms(session, viewer, q, limit, offset)
    stmt = select(*_ROW_COLUMNS).where(visible(viewer))
    if q:
        stmt = stmt.where(_query_condition(q, is_digits))
    stmt = _filters(stmt, f).order_by(*_order(f)).limit(limit).offset(offset)
    return [_to_row(r) for r in session.execute(stmt)]


def _search_terms(
    session: Session, viewer: Viewer, q: str, limit: int, offset: int
) -> list[PatientRow]:
    """The bucket read in display order; duplicates (one patient, several matching
    terms) sit next to each other, so a little over-fetch is enough."""
    wanted = offset + limit
    nums: list[int] = []
    seen: set[int] = set()
    after: tuple[str, int] | None = None
    batch = max(wanted + 16, 64)
    while len(nums) < wanted:
        stmt = select(PatientTerm.sort_key, PatientTerm.num).where(_term_match(q))
        if after is not None:
            stmt = stmt.where(tuple_(PatientTerm.sort_key, PatientTerm.num) > after)
        if not viewer.is_admin:
            stmt = stmt.join(Patient, Patient.num == PatientTerm.num).where(visible(viewer))
        stmt = stmt.order_by(PatientTerm.sort_key, PatientTerm.num).limit(batch)
        rows = session.execute(stmt).all()
        for sk, num in rows:
            if num not in seen:
                seen.add(num)
                nums.append(num)
        if len(rows) < batch:
            break
        after = (rows[-1][0], rows[-1][1])
    page = nums[offset:wanted]
    if not page:
        return []
    found = {r.num: r for r in session.execute(select(*_ROW_COLUMNS).where(Patient.num.in_(page)))}
    return [_to_row(found[n]) for n in page if n in found]


def count(session: Session, viewer: Viewer, f: PatientFilter) -> int:
    q, is_digits = _normalised(f.query)
    stmt = select(func.count()).select_from(Patient).where(visible(viewer))
    if q:
        stmt = stmt.where(_query_condition(q, is_digits))
    return int(session.execute(_filters(stmt, f)).scalar_one())
