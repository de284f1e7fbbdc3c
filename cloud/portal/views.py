"""What the portal pages show, built from records read through cloud.policy.

Money is reckoned as Decimal from the records' decimal text (app.core.money; amounts
stored as minor units before decimal text read as well) and shown with two decimals;
dates stay ISO.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from app.core.money import ZERO, MoneyError, from_wire, round_money
from app.core.text import digits, fold, sort_key
from cloud import policy
from cloud.models import Record
from cloud.policy import Principal
from cloud.portal import clock

PAGE_SIZE = 50


def amount(value: Any) -> Decimal:
    """A record's money field as an exact amount (none, or unreadable, is zero)."""
    try:
        return from_wire(value) or ZERO
    except MoneyError:
        return ZERO


def money(value: Decimal | Any) -> str:
    return f"{round_money(value if isinstance(value, Decimal) else amount(value)):f}"


def age(birth: str | None, today: dt.date) -> int | None:
    if not birth:
        return None
    try:
        b = dt.date.fromisoformat(birth)
    except ValueError:
        return None
    return today.year - b.year - ((today.month, today.day) < (b.month, b.day))


def icon(gender: str | None, years: int | None) -> str:
    """The symbolic picture: child, adult or senior, by gender."""
    stage = "adult" if years is None else "child" if years < 13 else \
        "senior" if years >= 65 else "adult"
    sex = gender if gender in ("female", "male") else "person"
    return f"{stage}-{sex}"


def full_name(f: dict[str, Any]) -> str:
    return " ".join(x for x in (f.get("first_name"), f.get("last_name")) if x) or "—"


@dataclass(frozen=True, slots=True)
class Brief:
    id: str
    name: str
    age: int | None
    mobile: str
    icon: str
    card: str


def brief(rec: Record, today: dt.date) -> Brief:
    f = rec.fields
    years = age(f.get("birth_date"), today)
    return Brief(rec.entity_id, full_name(f), years, f.get("mobile") or "",
                 icon(f.get("gender"), years), f.get("card_number") or "")


@dataclass(frozen=True, slots=True)
class ListPage:
    """One page of the patient list or a search: `total` is every match, not the page."""
    rows: list[Brief]
    total: int
    page: int
    pages: int


def _matches(rec: Record, q: str, q_digits: str) -> bool:
    f = rec.fields
    if q in fold(full_name(f)) or q in fold(f"{f.get('last_name') or ''} "
                                            f"{f.get('first_name') or ''}"):
        return True
    if q_digits and len(q_digits) >= 3 and q_digits in digits(f.get("mobile")):
        return True
    return q == fold(f.get("card_number"))


def patient_list(session: Session, p: Principal, query: str, today: dt.date,
                 page: int = 1, size: int = PAGE_SIZE) -> ListPage:
    """Page `page` of the patients `p` sees that match `query`, in the desktop's order
    (last name, then first name, accents and case folded)."""
    q = fold(query)
    q_digits = digits(query)
    found = [r for r in policy.patients(session, p) if not q or _matches(r, q, q_digits)]
    found.sort(key=lambda r: (sort_key(r.fields.get("first_name"),
                                       r.fields.get("last_name")), r.entity_id))
    pages = max(1, -(-len(found) // size))
    page = min(max(page, 1), pages)
    shown = found[(page - 1) * size:page * size]
    return ListPage([brief(r, today) for r in shown], len(found), page, pages)


def updated_at(rec: Record, tz: dt.tzinfo) -> str:
    try:
        wall = int(rec.max_hlc[:13])
    except ValueError:
        return ""
    return clock.shown(dt.datetime.fromtimestamp(wall / 1000, dt.UTC), tz)


@dataclass
class Detail:
    brief: Brief
    fields: dict[str, Any]
    updated: str
    agreements: list[dict[str, Any]] = field(default_factory=list)
    totals: dict[str, str] = field(default_factory=dict)
    visits: list[dict[str, Any]] = field(default_factory=list)
    notes: list[dict[str, Any]] = field(default_factory=list)


def patient_detail(session: Session, p: Principal, patient_id: str,
                   today: dt.date, tz: dt.tzinfo = dt.UTC) -> Detail:
    rec = policy.patient(session, p, patient_id)
    agreements = policy.records_of(session, p, "agreement", [patient_id])
    payments = policy.payments_of(session, p, agreements)
    paid_by: dict[str, Decimal] = {}
    for pay in payments:
        key = pay.fields.get("agreement_id") or ""
        paid_by[key] = paid_by.get(key, ZERO) + amount(pay.fields.get("amount"))
    d = Detail(brief(rec, today), rec.fields, updated_at(rec, tz))
    sums = {"total": ZERO, "discount": ZERO, "tax": ZERO, "paid": ZERO, "remaining": ZERO}
    for a in sorted(agreements, key=lambda a: a.entity_id):
        f = a.fields
        total, disc, tax = amount(f.get("total")), amount(f.get("discount")), amount(f.get("tax"))
        paid = paid_by.get(a.entity_id, ZERO)
        remaining = total - disc + tax - paid
        expires = f.get("expires_on")
        d.agreements.append({"title": f.get("title") or "Agreement", "total": money(total),
                             "discount": money(disc), "tax": money(tax), "paid": money(paid),
                             "remaining": money(remaining), "expires_on": expires or "",
                             "expired": bool(expires and expires < today.isoformat())})
        for k, v in (("total", total), ("discount", disc), ("tax", tax), ("paid", paid),
                     ("remaining", remaining)):
            sums[k] += v
    d.totals = {k: money(v) for k, v in sums.items()}
    for visit in policy.records_of(session, p, "visit", [patient_id]):
        f = visit.fields
        nxt = f.get("next_visit_date") or ""
        if nxt and f.get("next_visit_minutes"):
            nxt += f" ({f['next_visit_minutes']} min)"
        d.visits.append({"date": f.get("visit_date") or "", "amount": money(f.get("amount_paid")),
                         "action": f.get("procedure") or f.get("name") or "",
                         "notes": f.get("notes") or "", "next": nxt})
    d.visits.sort(key=lambda v: v["date"], reverse=True)
    for n in policy.records_of(session, p, "note", [patient_id]):
        d.notes.append({"body": n.fields.get("body") or "", "author": n.fields.get("author"),
                        "at": clock.shown(n.fields.get("created_at"), tz)})
    d.notes.sort(key=lambda n: n["at"], reverse=True)
    return d


def detail_json(d: Detail, p: Principal) -> dict[str, Any]:
    """The JSON of a patient's page for `p`: what the HTML page shows `p`, no more."""
    out: dict[str, Any] = {"id": d.brief.id, "name": d.brief.name, "card": d.brief.card,
                           "mobile": d.brief.mobile, "agreements": d.agreements,
                           "totals": d.totals, "visits": d.visits, "updated": d.updated}
    if policy.may_read(p, "note"):
        out["notes"] = d.notes
    return out


@dataclass
class Day:
    date: str
    visits: list[dict[str, Any]]
    appointments: list[dict[str, Any]]
    total_paid: str
    patients: int


def diary(session: Session, p: Principal, day: dt.date, tz: dt.tzinfo = dt.UTC) -> Day:
    """The day in the practice's time zone `tz`; its patient count counts each patient
    once, however many visits and appointments he has that day."""
    visits, appointments = policy.diary(session, p, day.isoformat(), tz)
    ids = {r.fields.get("patient_id") for r in visits + appointments}
    names = {r.entity_id: full_name(r.fields) for r in policy.patients(session, p)
             if r.entity_id in ids}
    v_rows = sorted(({"patient_id": r.fields.get("patient_id"),
                      "name": names.get(r.fields.get("patient_id") or "", "—"),
                      "amount": money(r.fields.get("amount_paid")),
                      "action": r.fields.get("procedure") or r.fields.get("name") or ""}
                     for r in visits), key=lambda x: str(x["name"]))
    a_rows = sorted(({"patient_id": r.fields.get("patient_id"),
                      "name": names.get(r.fields.get("patient_id") or "", "—"),
                      "time": clock.shown(r.fields.get("starts_at"), tz)[11:],
                      "minutes": r.fields.get("duration_minutes"),
                      "reason": r.fields.get("reason") or "",
                      "status": r.fields.get("status") or ""}
                     for r in appointments), key=lambda x: str(x["time"]))
    total = sum((amount(r.fields.get("amount_paid")) for r in visits), ZERO)
    patients = {r["patient_id"] for r in v_rows + a_rows}
    return Day(day.isoformat(), v_rows, a_rows, money(total), len(patients))
