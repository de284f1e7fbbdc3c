"""Per-field last-writer-wins, the one rule that the cloud and every PC apply.

Each stored field keeps its value, the stamp (HLC) of the write that set it, and that
write's base: the stamp the field had where the write was made. Of two writes the
higher stamp wins, everywhere, so replicas converge whatever order they learn them in.

Whether the loser was *seen* by the winner cannot be read from stamps alone (HLC order
is not causality). It can be read from the order of delivery: every replica receives
the writes of a field in causal order — a PC's own writes in the order it made them,
everybody else's in the cloud's commit order, where no write ever arrives before one
made on top of it. So when a write arrives:
- and wins, it saw the value it replaces exactly when its base is that value's stamp;
- and loses, the current value was written without seeing it (it is news here).
An unseen loser with a different value is a conflict, kept for a person to review.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.core.wire import Mutation


@dataclass(frozen=True, slots=True)
class FieldState:
    value: Any
    hlc: str
    base: str | None = None


@dataclass(frozen=True, slots=True)
class Conflict:
    """A concurrent change that lost; kept for a person to review, never dropped."""

    field: str
    winner: FieldState
    loser: FieldState

    def key(self, entity: str, entity_id: str) -> str:
        """The same conflict found on several replicas has the same key."""
        raw = f"{entity}|{entity_id}|{self.field}|{self.loser.hlc}|{self.winner.hlc}"
        return hashlib.sha256(raw.encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class MergeResult:
    applied: dict[str, FieldState]  # fields whose stored value must change
    conflicts: list[Conflict]


def merge_fields(
    current: Mapping[str, FieldState], incoming: Mapping[str, FieldState]
) -> MergeResult:
    applied: dict[str, FieldState] = {}
    conflicts: list[Conflict] = []
    for name, theirs in incoming.items():
        mine = current.get(name)
        if mine is None:
            applied[name] = theirs
            continue
        if theirs.hlc == mine.hlc:
            continue  # the same write again: a replay
        if theirs.hlc > mine.hlc:
            applied[name] = theirs
            if theirs.base != mine.hlc and theirs.value != mine.value:
                conflicts.append(Conflict(name, theirs, mine))
        elif theirs.value != mine.value:
            conflicts.append(Conflict(name, mine, theirs))
    return MergeResult(applied, conflicts)


def incoming_states(m: Mutation) -> dict[str, FieldState]:
    return {
        name: FieldState(value, m.hlc[name], m.base.get(name)) for name, value in m.fields.items()
    }
