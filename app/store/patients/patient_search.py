"""Search as you type over the patient list, in display order, a page at a time.

Plan, by query:
- empty query: the patients in display order (index on sort_key);
- a text query (or 3+ digits), ranked as the front desk expects: the patient whose
  card number or phone is exactly the query, then those whose surname starts with it
  (a range of sort_key, which starts with the surname), then the others it finds, each
  group in display order. The others are the prefix bucket of the query's first
  characters in patient_terms, read in display order on either side of the surname
  range; duplicates (one patient, several matching terms) sit next to each other, so
  SQLite drops them without sorting. The groups are one statement whose parts SQLite
  reads in order and merges, stopping after a page — cost bounded by the page, not by
  the database. A long query that few terms start with (fewer than FEW) reads its
  matches in term order instead (ix_patient_terms_term) and sorts them: the bucket,
  read in display order, would pass thousands of other terms for each one it finds;
- one or two digits: phone numbers almost all contain them, so read patients in
  display order and test each one's digits (or look its terms up by primary key),
  which also stops after a page;
- with filters (gender, case type, visit dates) or another sort: the general query.

These run once per keystroke. The fast paths are built once at import, compiled to
SQL text, and run on the driver's connection: the driver keeps each text prepared, and
no session or SQLAlchemy execution (several times the cost of the statement itself at
this size) stands between. Lists (of owners, of patients already shown, of card
numbers) are bound as one JSON text read by json_each, so that one text serves lists of
any length.
"""

from __future__ import annotations

from typing import Any, TypeAlias

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Integer,
    Select,
    String,
    bindparam,
    case,
    exists,
    func,
    literal_column,
    or_,
    select,
    union_all,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from app.core.text import digits, fold
from app.platform import jsoncodec
from app.store.access import visible
from app.store.dto import PatientFilter, PatientRow, Viewer
from app.store.models import Patient, PatientTerm, Visit

# A statement of any columns: Select is generic over its row's column types.
AnySelect: TypeAlias = "Select[*tuple[Any, ...]]"

PAGE = 50
SHORT_DIGITS = 3  # digit queries shorter than this are not in the phone buckets
# Terms a query starts with below which its matches are read in term order (see the
# module's plan). Measured at 100,000 patients: under 300 terms, term order takes a
# third to a half of the bucket's time; from 500 up the bucket is faster, twice from
# 1,000.
FEW = 300
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
    # By position, in _ROW_COLUMNS' order: a page is 50 rows a keystroke.
    return PatientRow(r[0], r[1], r[2], r[3] or "", r[4], r[5], r[6], r[7], r[8], r[9])


def _normalised(query: str) -> tuple[str, bool]:
    q = fold(query)
    is_digits = bool(q) and digits(q) == q.replace(" ", "").replace("+", "").replace("-", "")
    if is_digits and digits(q):
        return digits(q), True
    return q, False


def _term_range(q: str) -> dict[str, str]:
    """Bind values: q's bucket and the range of terms (and of sort keys) that start
    with q."""
    return {"pfx": q[:3], "lo": q, "hi": q + _TERM_END}


def _listed(values: list[Any]) -> str:
    """A list bound as one parameter (see _json_list)."""
    return jsoncodec.dumps(values)


def _exact_keys(query: str, q: str, is_digits: bool) -> dict[str, Any]:
    """Bind values: the card numbers and phones, as stored, that are exactly the query.

    Card numbers are stored as typed: the query as typed, folded and in capitals
    covers "ab 123" for "AB 123". Phones are stored as "+" and digits (or digits
    alone); "00" in front is the "+" (app.core.phone.normalise_phone)."""
    typed = query.strip()
    cards = [typed, q, typed.upper()]
    phones = [""]  # matches no phone (an empty one is stored as NULL): the query is not one
    if is_digits:
        plus = q[2:] if q.startswith("00") else q
        phones = [q, "+" + plus]
    return {"cards": cards, "phones": phones}


_NAMED = sqlite.dialect(paramstyle="named")


class _Prepared:
    """A statement as SQL text with its literal values' parameters, run on the driver's
    connection (see the module's doc). Compiled on first use: compiling them all cost
    start-up a twentieth of a second, and the list's first page needs one."""

    __slots__ = ("_stmt", "_text")

    def __init__(self, stmt: AnySelect | CompoundSelect[Any]) -> None:
        self._stmt = stmt
        self._text: tuple[str, dict[str, Any]] | None = None

    def _compiled(self) -> tuple[str, dict[str, Any]]:
        if self._text is None:  # two threads may both compile it: the same text
            compiled = self._stmt.compile(dialect=_NAMED)
            self._text = (str(compiled), dict(compiled.params))
        return self._text

    def rows(self, conn: Any, params: dict[str, Any]) -> list[Any]:
        sql, defaults = self._compiled()
        return list(conn.execute(sql, defaults | params).fetchall())

    def scalar(self, conn: Any, params: dict[str, Any]) -> int:
        sql, defaults = self._compiled()
        return int(conn.execute(sql, defaults | params).fetchone()[0])




def _json_list(name: str) -> AnySelect:
    """The values of the JSON list bound as `name`."""
    return select(func.json_each(bindparam(name, type_=String)).table_valued("value").c.value)


# The fast statements ------------------------------------------------------------------
_LIMIT = bindparam("limit", type_=Integer)
_OFFSET = bindparam("offset", type_=Integer)
_LIVE = (Patient.deleted.is_(False), Patient.merged_into.is_(None))
# A member's own id and the ids of him made on other PCs (dto.Viewer.owner_ids).
_OWNERS = _json_list("owners")
_OWNER = Patient.responsible_user_id.in_(_OWNERS)
_IN_BUCKET = (
    PatientTerm.pfx == bindparam("pfx"),
    PatientTerm.term >= bindparam("lo"),
    PatientTerm.term < bindparam("hi"),
)
# The same terms, as ix_patient_terms_term holds them: its condition as a literal, the
# way SQLite tells that the index applies.
_BY_TERM = (
    func.length(PatientTerm.pfx) == literal_column("3"),
    PatientTerm.term >= bindparam("lo"),
    PatientTerm.term < bindparam("hi"),
)


# For a member, the bucket is still read in display order and each patient checked;
# `|| ''` keeps SQLite from reading all of his patients first through the owner index.
_OWNER_OF_TERM = Patient.responsible_user_id.concat("").in_(_OWNERS)


_EXACT = or_(Patient.card_number.in_(_json_list("cards")),
             Patient.mobile.in_(_json_list("phones")),
             Patient.landline.in_(_json_list("phones")))
# The range of sort keys that start with q (the surname group), apart from q's terms'.
_SURNAME = (Patient.sort_key >= bindparam("s_lo"), Patient.sort_key < bindparam("s_hi"))
# The exact matches, shown first, left out of the later groups.
_NOT_SHOWN = _json_list("shown")


def _exact(for_member: bool) -> AnySelect:
    stmt = select(*_ROW_COLUMNS).where(*_LIVE, _EXACT).order_by(Patient.sort_key, Patient.num)
    return stmt.where(_OWNER) if for_member else stmt


def _surname_keys(for_member: bool) -> AnySelect:
    stmt = select(Patient.sort_key, Patient.num).where(
        *_SURNAME, *_LIVE, Patient.num.not_in(_NOT_SHOWN))
    if for_member:
        stmt = stmt.where(_OWNER_OF_TERM)
    return stmt.order_by(Patient.sort_key, Patient.num)


def _other_keys(for_member: bool) -> CompoundSelect[Any]:
    """The other matches: q's bucket on either side of the surname range, each side
    read in display order (one range of the index each, one after the other)."""
    sides = []
    for side in (PatientTerm.sort_key < bindparam("s_lo"),
                 PatientTerm.sort_key >= bindparam("s_hi")):
        stmt = select(PatientTerm.sort_key, PatientTerm.num).where(
            *_IN_BUCKET, side, PatientTerm.num.not_in(_NOT_SHOWN))
        if for_member:
            stmt = stmt.join(Patient, Patient.num == PatientTerm.num).where(
                *_LIVE, _OWNER_OF_TERM)
        sides.append(select(stmt.distinct().order_by(PatientTerm.sort_key, PatientTerm.num)
                            .subquery()))
    return union_all(*sides)


def _other_keys_by_term(for_member: bool) -> AnySelect:
    """The other matches, when few (see FEW): read in term order, then sorted."""
    stmt = select(PatientTerm.sort_key, PatientTerm.num).where(
        *_BY_TERM,
        or_(PatientTerm.sort_key < bindparam("s_lo"), PatientTerm.sort_key >= bindparam("s_hi")),
        PatientTerm.num.not_in(_NOT_SHOWN))
    if for_member:
        stmt = stmt.join(Patient, Patient.num == PatientTerm.num).where(*_LIVE, _OWNER_OF_TERM)
    return stmt.distinct().order_by(PatientTerm.sort_key, PatientTerm.num)


def _group(keys: AnySelect | CompoundSelect[Any]) -> tuple[_Prepared, _Prepared]:
    """A page of a group's rows, and how many it holds up to :limit."""
    m = keys.limit(_LIMIT).offset(_OFFSET).subquery("m")
    # By display order's key: a lookup in the list's index, which holds the columns
    # shown (migration 0025), not in the table.
    same = (Patient.sort_key == m.c.sort_key) & (Patient.num == m.c.num)
    page = (select(*_ROW_COLUMNS).join_from(m, Patient, same)
            .where(*_LIVE).order_by(m.c.sort_key, m.c.num))
    size = select(func.count()).select_from(keys.limit(_LIMIT).subquery())
    return _Prepared(page), _Prepared(size)


_EXACT_ROWS = {member: _Prepared(_exact(member)) for member in (False, True)}
# Per viewer kind: the surname group, the others read by bucket, the others read by term.
_GROUPS = {member: (_group(_surname_keys(member)), _group(_other_keys(member)),
                    _group(_other_keys_by_term(member)))
           for member in (False, True)}
# Whether fewer than :cap terms start with q (whoever's they are).
_SOME_TERMS = _Prepared(select(func.count()).select_from(
    select(literal_column("1")).where(*_BY_TERM).limit(bindparam("cap")).subquery()))


def _few_terms(conn: Any, q: str, params: dict[str, Any]) -> bool:
    """Whether q's matches are few enough to read in term order (see FEW); a query of
    one or two characters is in the 1- and 2-character buckets, not in that index."""
    return len(q) >= 3 and _SOME_TERMS.scalar(conn, params | {"cap": FEW}) < FEW


def _viewer_params(viewer: Viewer) -> dict[str, Any]:
    return {} if viewer.is_admin else {"owners": _listed(list(viewer.owner_ids))}


def _ranked(conn: Any, viewer: Viewer, query: str, q: str, is_digits: bool,
            limit: int, offset: int) -> list[Any]:
    """A page of the ranked matches (see the module's plan): each group a statement read
    in the index's order, the offset carried past the groups it skips whole."""
    member = not viewer.is_admin
    params = _viewer_params(viewer) | _term_range(q)
    params |= {"s_lo": params["lo"], "s_hi": params["hi"]}
    exact: list[Any] = []
    if any(ch.isdigit() for ch in q):  # a card number or phone has digits; a name, none
        keys = _exact_keys(query, q, is_digits)
        exact = _EXACT_ROWS[member].rows(conn, params | {k: _listed(v) for k, v in keys.items()})
    params["shown"] = _listed([r[1] for r in exact])
    surnames = not q[0].isdigit()
    if not surnames:  # surnames start with letters: one statement less for a phone
        params["s_hi"] = params["s_lo"]  # an empty surname range: the others are every match
    rows = exact[offset : offset + limit]
    offset = max(0, offset - len(exact))
    surname, by_bucket, by_term = _GROUPS[member]
    for group in (surname, None) if surnames else (None,):
        if len(rows) >= limit:
            break
        page, size = group or (by_term if _few_terms(conn, q, params) else by_bucket)
        got = page.rows(conn, params | {"limit": limit - len(rows), "offset": offset})
        rows.extend(got)
        if got or not offset:
            offset = 0
        else:  # the whole group lies before this page: how many it holds, up to offset
            offset -= size.scalar(conn, params | {"limit": offset})
    return rows


def _count_terms(for_member: bool, conditions: tuple[ColumnElement[bool], ...]) -> _Prepared:
    stmt = select(PatientTerm.sort_key, PatientTerm.num).where(*conditions)
    if for_member:
        stmt = stmt.join(Patient, Patient.num == PatientTerm.num).where(*_LIVE, _OWNER_OF_TERM)
    return _Prepared(select(func.count()).select_from(stmt.distinct().subquery()))


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


def _in_order(for_member: bool, short_digits: bool) -> AnySelect:
    stmt = select(*_ROW_COLUMNS).where(*_LIVE)
    if for_member:
        stmt = stmt.where(_OWNER)
    if short_digits:
        stmt = stmt.where(_short_digits_condition(bindparam("q", type_=String)))
    stmt = stmt.order_by(Patient.sort_key, Patient.num)
    return stmt.limit(_LIMIT).offset(_OFFSET)


# Per viewer kind: the matches counted by bucket, and by term (when few, see FEW).
_COUNT_TERMS = {member: (_count_terms(member, _IN_BUCKET), _count_terms(member, _BY_TERM))
                for member in (False, True)}
_IN_ORDER = {(m, d): _Prepared(_in_order(m, d)) for m in (False, True) for d in (False, True)}


# The general query --------------------------------------------------------------------
def _filters(stmt: AnySelect, f: PatientFilter) -> AnySelect:
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


def _order(f: PatientFilter, query: str, q: str, is_digits: bool) -> list[Any]:
    if f.sort == "name" and q and not (is_digits and len(q) < SHORT_DIGITS):
        # Ranked as the fast path ranks (see the module's plan), here by sorting.
        keys, r = _exact_keys(query, q, is_digits), _term_range(q)
        exact = or_(Patient.card_number.in_(keys["cards"]), Patient.mobile.in_(keys["phones"]),
                    Patient.landline.in_(keys["phones"]))
        surname = (Patient.sort_key >= r["lo"]) & (Patient.sort_key < r["hi"])
        tier = case((exact, 0), (surname, 1), else_=2)
        return [tier, Patient.sort_key, Patient.num]
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


def _general(viewer: Viewer, f: PatientFilter, q: str, is_digits: bool) -> AnySelect:
    stmt = select(*_ROW_COLUMNS).where(visible(viewer))
    if q:
        stmt = stmt.where(_query_condition(q, is_digits))
    return _filters(stmt, f).order_by(*_order(f, f.query, q, is_digits))


# Entry points -------------------------------------------------------------------------
def is_fast(f: PatientFilter) -> bool:
    """Whether search and count answer `f` on the driver's connection (see the module's
    plan): no filter, in display order."""
    return not f.has_filters and f.sort == "name"


def fast_search(conn: Any, viewer: Viewer, f: PatientFilter, *, limit: int = PAGE,
                offset: int = 0) -> list[PatientRow]:
    """search() of a filter is_fast answers, on the driver's connection `conn`, in a read
    transaction (Database.driver_read)."""
    if limit <= 0:
        return []
    q, is_digits = _normalised(f.query)
    if q and not (is_digits and len(q) < SHORT_DIGITS):
        return [_to_row(r) for r in _ranked(conn, viewer, f.query, q, is_digits, limit, offset)]
    stmt = _IN_ORDER[(not viewer.is_admin, bool(q))]
    params = _viewer_params(viewer) | {"limit": limit, "offset": offset}
    return [_to_row(r) for r in stmt.rows(conn, params | ({"q": q} if q else {}))]


def fast_count(conn: Any, viewer: Viewer, f: PatientFilter) -> int | None:
    """count() of a filter without filters, on the driver's connection; None when the
    query is empty or one or two digits, counted by the general query."""
    q, is_digits = _normalised(f.query)
    if not q or (is_digits and len(q) < SHORT_DIGITS):
        return None
    # The index holds terms of live patients only (see search_index.rows_for).
    params = _viewer_params(viewer) | _term_range(q)
    by_bucket, by_term = _COUNT_TERMS[not viewer.is_admin]
    return (by_term if _few_terms(conn, q, params) else by_bucket).scalar(conn, params)


def search(
    session: Session,
    viewer: Viewer,
    f: PatientFilter,
    *,
    limit: int = PAGE,
    offset: int = 0,
) -> list[PatientRow]:
    """One page of the patients this viewer sees that match `f`: ranked (see the
    module's plan) when sorted by name, else in the order asked for."""
    if limit <= 0:
        return []
    if is_fast(f):
        return fast_search(_driver(session), viewer, f, limit=limit, offset=offset)
    q, is_digits = _normalised(f.query)
    rows = session.connection().execute(
        _general(viewer, f, q, is_digits).limit(limit).offset(offset))
    return [_to_row(r) for r in rows]


def count(session: Session, viewer: Viewer, f: PatientFilter) -> int:
    """How many patients this viewer sees match `f`."""
    if not f.has_filters:  # in any order: the same patients
        n = fast_count(_driver(session), viewer, f)
        if n is not None:
            return n
    q, is_digits = _normalised(f.query)
    stmt = select(func.count()).select_from(Patient).where(visible(viewer))
    if q:
        stmt = stmt.where(_query_condition(q, is_digits))
    return int(session.connection().execute(_filters(stmt, f)).scalar_one())


def _driver(session: Session) -> Any:
    """The driver's connection under the session's, in the session's transaction."""
    return session.connection().connection.driver_connection
