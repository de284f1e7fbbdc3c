"""Pulled changes that can not be applied here, set aside instead of stopping the pull.

Every other PC's changes come through the cloud. One that does not fit the wire schema
(text that is not valid Unicode, a value of the wrong kind, a broken stamp) could not
be written, and if it failed its whole page, the pull would stop at it for good: it
stays in the cloud's log. Such a change is kept here with the reason, shown in the
"Changes to review" window, and the rest of the page applies.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeGuard

from sqlalchemy import Connection, insert, select

from app.core.compact import SHARED, VALUES
from app.core.hlc import Timestamp
from app.core.ids import is_uuid
from app.core.patient_rules import LABELS
from app.core.wire import ENTITIES, field_checks
from app.store.db import Database
from app.store.models import MODEL_BY_ENTITY, UnappliedChange

KEPT_CHARS = 4000  # of the change's JSON, for whoever looks into it


@dataclass(frozen=True, slots=True)
class UnappliedRow:
    entity: str
    entity_id: str
    reason: str
    found_at: str


def _label(entity: str, name: str) -> str:
    label = LABELS.get(name, name.replace("_", " ").capitalize())
    return label if entity == "patient" else f"{entity.capitalize()}: {label}"


def _stamp_problem(stamp: Any, nullable: bool) -> bool:
    if stamp is None:
        return not nullable
    if not isinstance(stamp, str):
        return True
    try:
        Timestamp.check(stamp)
    except ValueError:
        return True
    return False


def screen(change: Any) -> str | None:  # noqa: C901, PLR0912
    """None when `change` can be applied here, else why not (in the user's words).

    Kinds and fields this program does not keep are not checked: they are skipped."""
    if not _is_mapping(change):
        return "the change is not readable"
    entity = change.get("entity")
    if entity not in MODEL_BY_ENTITY:
        return None
    if not is_uuid(change.get("entity_id")):
        return "the record's identifier is not valid"
    fields = change.get("fields")
    if not _is_mapping(fields):
        return "the change carries no values"
    checks = field_checks(str(entity))
    if SHARED in fields:
        return _screen_compact(entity, fields, checks)
    good_stamps: set[str] = set()  # the fields of one change mostly share a stamp
    for name, f in fields.items():
        check = checks.get(name)
        if check is None:
            continue
        if not (type(f) is dict or _is_mapping(f)) or "value" not in f:
            return f"{_label(entity, name)} has no value"
        problem = check(f["value"])
        if problem:
            return f"{_label(entity, name)} {problem}"
        hlc: Any = f.get("hlc")  # checked below
        base: Any = f.get("base")
        if type(hlc) is not str or hlc not in good_stamps:
            if _stamp_problem(hlc, False):
                return f"{_label(entity, name)} has a broken time stamp"
            good_stamps.add(hlc)
        if base is not None and (type(base) is not str or base not in good_stamps):
            if _stamp_problem(base, True):
                return f"{_label(entity, name)} has a broken time stamp"
            good_stamps.add(base)
    return None


def _screen_compact(entity: str, fields: Mapping[str, Any],
                    checks: Mapping[str, Callable[[Any], str | None]]) -> str | None:
    """`screen` of a change in the compact form (app.core.compact): one stamp, no base."""
    values = fields.get(VALUES)
    if not _is_mapping(values) or len(fields) != 2:
        return "the change carries no values"
    for name, value in values.items():
        check = checks.get(name)
        if check is None:
            continue
        problem = check(value)
        if problem:
            return f"{_label(entity, name)} {problem}"
    if _stamp_problem(fields[SHARED], False):
        return "the change has a broken time stamp"
    return None


def _is_mapping(value: Any) -> TypeGuard[Mapping[str, Any]]:
    # A pulled page is plain dicts: the exact type first, the ABC's slower check after.
    return type(value) is dict or isinstance(value, Mapping)


def screen_conflict(c: Any) -> str | None:
    """As `screen`, for a conflict the cloud found: both of its values must fit."""
    if not isinstance(c, Mapping):
        return "the conflict is not readable"
    entity, name, key = c.get("entity"), c.get("field"), c.get("key")
    if entity not in MODEL_BY_ENTITY:
        return None
    if name not in ENTITIES[str(entity)].fields:
        return "the conflict names an unknown detail"
    if not isinstance(key, str) or not key.isascii() or not key.isalnum():
        return "the conflict's identifier is not valid"
    for side in ("winner", "loser"):
        reason = screen({"entity": entity, "entity_id": c.get("entity_id"),
                         "fields": {name: c.get(side)}})
        if reason:
            return reason
    return None


def split(changes: Sequence[Any], check: Callable[[Any], str | None] = screen,
          ) -> tuple[list[Mapping[str, Any]], list[tuple[Any, str]]]:
    """(the changes that can be applied, [(change, reason)] of those that can not)."""
    good: list[Mapping[str, Any]] = []
    aside: list[tuple[Any, str]] = []
    for change in changes:
        reason = check(change)
        if reason is None:
            good.append(change)
        else:
            aside.append((change, reason))
    return good, aside


def _as_text(value: Any, limit: int) -> str:
    # ensure_ascii writes a lone surrogate as an escape, which any database stores.
    return json.dumps(value, ensure_ascii=True, default=repr)[:limit]


def set_aside(conn: Connection, aside: Sequence[tuple[Any, str]], found_at: str) -> None:
    rows = []
    for change, reason in aside:
        c = change if isinstance(change, Mapping) else {}
        rows.append({"entity": _as_text(c.get("entity"), 32).strip('"'),
                     "entity_id": _as_text(c.get("entity_id"), 64).strip('"'),
                     "reason": reason[:500].encode("utf-8", "backslashreplace").decode(),
                     "change": _as_text(change, KEPT_CHARS), "found_at": found_at})
    if rows:
        conn.execute(insert(UnappliedChange), rows)


class UnappliedRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    def list(self) -> list[UnappliedRow]:
        with self.db.read() as s:
            return [UnappliedRow(r.entity, r.entity_id, r.reason, r.found_at)
                    for r in s.scalars(select(UnappliedChange).order_by(UnappliedChange.id))]
