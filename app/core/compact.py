"""Compact forms of what a change sets, shared by the cloud (which stores and sends them)
and the PC (which reads them from a pull).

A change that creates a row sets every field with one stamp and no base. Written out
field by field, {"name": {"value": ..., "hlc": ..., "base": null}, ...}, the same
35-40 character stamp and a null base are repeated for every field: most of the bytes
of a first upload, stored by the cloud and sent to every PC. The compact form says it
once: {"@hlc": stamp, "@v": {"name": value, ...}}. Field names are identifiers, so no
field is called "@hlc" or "@v": a reader tells the forms apart by the "@hlc" key.

A record's stamps ({field: stamp}) are kept the same way: the stamp most fields share
once under "@hlc", and 0 in place of it for each field that has it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

SHARED = "@hlc"  # the stamp every field of a compact change has (none has a base)
VALUES = "@v"  # {field: value} of a compact change
_SAME = 0  # in a record's compact stamps: the field has the shared stamp


def change_fields(
    values: Mapping[str, Any], stamps: Mapping[str, str], bases: Mapping[str, str | None]
) -> dict[str, Any]:
    """What a change sets, as stored: compact when all of its fields share one stamp and
    none has a base (every creation), else field by field."""
    if values and not any(map(bases.get, values)):
        found = set(map(stamps.__getitem__, values))
        if len(found) == 1:
            return {SHARED: found.pop(), VALUES: values}
    return {n: {"value": v, "hlc": stamps[n], "base": bases.get(n)} for n, v in values.items()}


def is_compact(fields: Any) -> bool:
    return isinstance(fields, Mapping) and SHARED in fields


def expanded(fields: Mapping[str, Any]) -> dict[str, Any]:
    """What a change sets, field by field ({field: {"value", "hlc", "base"}}), read from
    either form."""
    if SHARED not in fields:
        return dict(fields)
    hlc = fields[SHARED]
    return {n: {"value": v, "hlc": hlc, "base": None} for n, v in fields[VALUES].items()}


def compact_stamps(stamps: dict[str, Any]) -> dict[str, Any]:
    """A record's stamps with the stamp of its first field said once (a created record's
    fields all have it; an edited one's most of them)."""
    if len(stamps) < 2 or SHARED in stamps:
        return stamps
    shared = next(iter(stamps.values()))
    return {SHARED: shared, **{n: _SAME if s == shared else s for n, s in stamps.items()}}


def stored_stamps(shared: str, names: Iterable[str]) -> dict[str, Any]:
    """`compact_stamps` of fields that all have the stamp `shared`."""
    return {SHARED: shared, **dict.fromkeys(names, _SAME)}


def expanded_stamps(stored: Mapping[str, Any]) -> dict[str, Any]:
    """A record's stamps ({field: stamp}) read from either form."""
    if SHARED not in stored:
        return dict(stored)
    shared = stored[SHARED]
    return {n: shared if s == _SAME else s for n, s in stored.items() if n != SHARED}
