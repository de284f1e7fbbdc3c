"""The sync wire schema, shared by the desktop, the sync agent and the cloud.

A mutation says: these fields of this row of this entity now have these values, each
stamped with the hybrid-logical-clock time of its change on the node that made it.
Its UUID is the idempotency key: the server applies a mutation once and answers a
replay with the stored result. Values are JSON: text, integers, money as decimal text
with two places ("1250.00"; never floats — see app.core.money), booleans, ISO dates and
UTC datetimes, UUID references, or null.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from app.core.hlc import STAMP_TEXT as _STAMP
from app.core.hlc import Timestamp
from app.core.ids import CANONICAL_UUID as _CANONICAL_UUID
from app.core.ids import is_uuid
from app.core.money import from_wire, to_wire, wire_problem
from app.core.wire_entities import (  # noqa: F401 (the schema's names, read from here)
    APPOINTMENT_STATUSES,
    CASE_STATUSES,
    ENTITIES,
    GENDERS,
    IMAGE_KINDS,
    LAB_STATUSES,
    LONG_TEXT_MAX,
    MAX_BATCH_BYTES,
    MAX_BATCH_MUTATIONS,
    MOVABLE_ENTITIES,
    PAYMENT_METHODS,
    ROLES,
    SCAN_TYPES,
    SCHEMA_VERSION,
    SHORT_TEXT_MAX,
    TICKET_STATUSES,
    EntitySpec,
    FieldSpec,
)

# A cloud that takes a mutation's "hlc" as one stamp for all its fields (and "base"
# left out when no field has one) says so with this header in its push answers.
SHARED_HLC_HEADER = "Chairside-Accepts"
SHARED_HLC = "shared-hlc"


class SchemaError(ValueError):
    """A mutation that does not fit the wire schema; the message says why."""


@dataclass(frozen=True, slots=True)
class Mutation:
    id: str
    entity: str
    entity_id: str
    node: str
    fields: dict[str, Any] = field(default_factory=dict)
    hlc: dict[str, str] = field(default_factory=dict)
    # The stamp each field had on the node when it was changed there (None: the field
    # was new). A change whose base is older than the value it meets did not see that
    # value: the two are concurrent, and the loser becomes a conflict record.
    base: dict[str, str | None] = field(default_factory=dict)

    def to_wire(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "entity": self.entity,
            "entity_id": self.entity_id,
            "node": self.node,
            "fields": dict(self.fields),
            "hlc": dict(self.hlc),
            "base": dict(self.base),
        }

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> Mutation:
        """Parse and validate one mutation; raises SchemaError with a reason."""
        # a parsed body holds dicts: the exact test first, as the ABC's check is slower
        if data.__class__ is not dict and not isinstance(data, Mapping):
            raise SchemaError("a mutation must be an object")
        unknown = set(data) - {"id", "entity", "entity_id", "node", "fields", "hlc", "base"}
        if unknown:
            raise SchemaError(f"unknown keys in mutation: {sorted(unknown)}")
        # the values' types are checked by validate() below, not here
        get: Callable[[str], Any] = data.get
        fields, hlc = get("fields"), get("hlc")
        if hlc.__class__ is str and fields.__class__ is dict:
            # The shared form (SHARED_HLC): one stamp for every field, as a PC sends a
            # record's creation to a cloud that says it takes it.
            hlc = dict.fromkeys(fields, hlc)
        m = cls(
            id=get("id"),
            entity=get("entity"),
            entity_id=get("entity_id"),
            node=get("node"),
            fields=fields,
            hlc=hlc,
            base=data.get("base", {}),
        )
        if not _valid(m):
            validate(m)
        return normalized(m)


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Text is Unicode scalar values only: a lone surrogate can not be encoded (UTF-8,
# SQLite, PostgreSQL), so one would stop every replica that reads it. Control
# characters other than tab and line breaks have no place in a record either.
_BAD_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def text_problem(value: str) -> str | None:
    """None when `value` is text a record may hold, else the reason it is not."""
    bad = _BAD_TEXT.search(value)
    if bad is None:
        return None
    code = ord(bad.group())
    if 0xD800 <= code <= 0xDFFF:
        return "contains a broken character"
    if code == 0:
        return "contains a NUL character"
    return f"contains a control character (U+{code:04X})"
# An argon2id hash in its PHC text form: the parameters, salt and hash, never a password.
_ARGON2ID = re.compile(r"^\$argon2id\$v=\d+\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$")
_NODE = re.compile(r"^[0-9a-f]{16}$")


def check_value(spec: FieldSpec, value: Any) -> str | None:
    """None when `value` fits `spec`, else the reason it does not."""
    if value is None:
        return None if spec.nullable else "may not be empty"
    check = _KIND_CHECKS.get(spec.kind)
    return check(spec, value) if check else f"has an unknown kind {spec.kind}"


def _text_problem(spec: FieldSpec, value: Any) -> str | None:
    if not isinstance(value, str):
        return "must be text"
    limit = SHORT_TEXT_MAX if spec.kind == "str" else LONG_TEXT_MAX
    if len(value) > limit:
        return f"is longer than {limit} characters"
    return text_problem(value)


def _int_problem(spec: FieldSpec, value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return "must be a whole number"
    return "is out of range" if abs(value) > 2**53 else None


def _date_problem(spec: FieldSpec, value: Any) -> str | None:
    if not isinstance(value, str) or not _DATE.match(value):
        return "must be a date (YYYY-MM-DD)"
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return "is not a real date"
    return None


def _datetime_problem(spec: FieldSpec, value: Any) -> str | None:
    if not isinstance(value, str):
        return "must be a date and time"
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return "is not a real date and time"
    if parsed.tzinfo is None or parsed.utcoffset() != dt.timedelta(0):
        return "must be in UTC"
    return None


def _argon2id_problem(spec: FieldSpec, value: Any) -> str | None:
    ok = isinstance(value, str) and len(value) <= 200 and _ARGON2ID.match(value)
    return None if ok else "must be an argon2id password hash"


_KIND_CHECKS: dict[str, Callable[[FieldSpec, Any], str | None]] = {
    "str": _text_problem,
    "text": _text_problem,
    "int": _int_problem,
    "money": lambda spec, value: wire_problem(value),
    "bool": lambda spec, value: None if isinstance(value, bool) else "must be true or false",
    "enum": lambda spec, value: (None if value in spec.choices
                                 else f"must be one of {', '.join(spec.choices)}"),
    "uuid": lambda spec, value: None if is_uuid(value) else "must be a UUID",
    "date": _date_problem,
    "datetime": _datetime_problem,
    "argon2id": _argon2id_problem,
}


def _checker(spec: FieldSpec) -> Callable[[Any], str | None]:  # noqa: C901
    """`check_value` for one field, with the common valid values answered without
    going through every kind: a first upload checks millions of values. Whatever the
    quick test does not accept goes to `check_value`, so the answers are the same."""
    kind, nullable = spec.kind, spec.nullable

    def full(value: Any) -> str | None:
        return check_value(spec, value)

    if kind in ("str", "text"):
        limit = SHORT_TEXT_MAX if kind == "str" else LONG_TEXT_MAX
        bad = _BAD_TEXT.search

        def text(value: Any) -> str | None:
            if value.__class__ is str and len(value) <= limit and bad(value) is None:
                return None
            if value is None and nullable:
                return None
            return full(value)
        return text
    if kind == "uuid":
        canonical = _CANONICAL_UUID.fullmatch

        def uuid_ref(value: Any) -> str | None:
            if value.__class__ is str and len(value) == 36 and canonical(value):
                return None
            if value is None and nullable:
                return None
            return full(value)
        return uuid_ref
    if kind == "enum":
        choices = frozenset(spec.choices)

        def enum(value: Any) -> str | None:
            if value.__class__ is str and value in choices:
                return None
            if value is None and nullable:
                return None
            return full(value)
        return enum
    if kind == "bool":

        def boolean(value: Any) -> str | None:
            if value is True or value is False or (value is None and nullable):
                return None
            return full(value)
        return boolean
    if kind == "int":

        def whole(value: Any) -> str | None:
            if value.__class__ is int and -(2**53) <= value <= 2**53:
                return None
            if value is None and nullable:
                return None
            return full(value)
        return whole
    if kind == "date":
        shaped, real = _DATE.match, dt.date.fromisoformat

        def date(value: Any) -> str | None:
            if value.__class__ is str and len(value) == 10 and shaped(value):
                try:
                    real(value)
                    return None
                except ValueError:
                    pass
            if value is None and nullable:
                return None
            return full(value)
        return date

    def other(value: Any) -> str | None:
        return None if value is None and nullable else full(value)
    return other


_CHECKERS: dict[str, dict[str, Callable[[Any], str | None]]] = {
    name: {f: _checker(fs) for f, fs in e.fields.items()} for name, e in ENTITIES.items()
}


def field_checks(entity: str) -> Mapping[str, Callable[[Any], str | None]]:
    """Each field of `entity` with its check: check_value's answer, quicker (a pulled
    page screens hundreds of thousands of values)."""
    return _CHECKERS[entity]


# Fields whose older wire form (minor units as an integer) `normalized` rewrites.
_MONEY_FIELDS = {name: tuple(f for f, fs in e.fields.items() if fs.kind == "money")
                 for name, e in ENTITIES.items()}


def _valid(m: Mutation) -> bool:
    """True only when `validate` passes `m`: the checks of a valid mutation made with
    few Python steps (its stamps checked once each, as sets). Anything it doubts goes
    through `validate`, which finds the first problem in order and says what it is."""
    if not (m.entity.__class__ is str and m.entity in ENTITIES
            and _canonical_uuid(m.id) and _canonical_uuid(m.entity_id)
            and m.node.__class__ is str and _NODE.match(m.node)
            and m.fields.__class__ is dict and m.fields
            and m.hlc.__class__ is dict and m.hlc.keys() == m.fields.keys()
            and m.base.__class__ is dict and m.base.keys() <= m.fields.keys()):
        return False
    try:
        stamps = set(m.hlc.values())
        bases = set(m.base.values())
    except TypeError:  # something unhashable, so not text
        return False
    bases.discard(None)
    stamp_text = _STAMP.match
    for stamp in stamps | bases:
        if stamp.__class__ is not str or not stamp_text(stamp):
            return False
    checkers = _CHECKERS[m.entity]
    for name, value in m.fields.items():
        check = checkers.get(name)
        if check is None or check(value) is not None:
            return False
    return True


def _canonical_uuid(value: Any) -> bool:
    return value.__class__ is str and len(value) == 36 and bool(_CANONICAL_UUID.fullmatch(value))


def validate(m: Mutation) -> None:  # noqa: C901, PLR0912
    if not is_uuid(m.id):
        raise SchemaError("mutation id must be a UUID")
    if not isinstance(m.entity, str) or m.entity not in ENTITIES:
        raise SchemaError(f"unknown entity: {str(m.entity)[:40]!r}")
    if not is_uuid(m.entity_id):
        raise SchemaError("entity_id must be a UUID")
    if not isinstance(m.node, str) or not _NODE.match(m.node):
        raise SchemaError("node must be 16 hex digits")
    if not isinstance(m.fields, dict) or not m.fields:
        raise SchemaError("fields must be a non-empty object")
    if not isinstance(m.hlc, dict) or m.hlc.keys() != m.fields.keys():
        raise SchemaError("hlc must stamp exactly the changed fields")
    if not isinstance(m.base, dict) or not m.base.keys() <= m.fields.keys():
        raise SchemaError("base may only stamp changed fields")
    for name, stamp in m.base.items():
        if stamp is not None:
            if not isinstance(stamp, str):
                raise SchemaError(f"base of {name} must be text or null")
            try:
                Timestamp.check(stamp)
            except ValueError as exc:
                raise SchemaError(f"base of {name}: {exc}") from None
    checkers = _CHECKERS[m.entity]
    checked: set[str] = set()  # the fields of one change share a stamp
    for name, value in m.fields.items():
        check = checkers.get(name)
        if check is None:
            raise SchemaError(f"unknown field {m.entity}.{str(name)[:40]}")
        problem = check(value)
        if problem:
            raise SchemaError(f"{m.entity}.{name} {problem}")
        stamp = m.hlc[name]
        if not isinstance(stamp, str):
            raise SchemaError(f"hlc of {name} must be text")
        if stamp in checked:
            continue
        try:
            Timestamp.check(stamp)
        except ValueError as exc:
            raise SchemaError(f"hlc of {name}: {exc}") from None
        checked.add(stamp)


def normal_value(spec: FieldSpec, value: Any) -> Any:
    """A valid value in today's form: money written as minor units (before decimal
    text) becomes decimal text. Everything else is returned as it is."""
    if spec.kind == "money" and isinstance(value, int) and not isinstance(value, bool):
        return to_wire(from_wire(value))
    return value


def normalized(m: Mutation) -> Mutation:
    money = _MONEY_FIELDS[m.entity]
    if not any(isinstance(m.fields.get(n), int) for n in money):
        return m  # nothing in an older form: nearly every mutation
    spec = ENTITIES[m.entity].fields
    fields = {n: normal_value(spec[n], v) for n, v in m.fields.items()}
    if fields == m.fields:
        return m
    return Mutation(m.id, m.entity, m.entity_id, m.node, fields, m.hlc, m.base)
