"""Per-field last-writer-wins, the one rule that the cloud and every PC apply.

Each stored field keeps its value, the stamp (HLC) of the change that wrote it, and
that change's base: the stamp the field had where the change was made. Of two writes,
the higher stamp wins. They were concurrent (neither saw the other) exactly when the
winner's base is older than the loser's stamp; then, if the values differ, the loser is
a conflict to keep for review. The rule looks only at the two writes, so replicas that
receive the same writes in any order keep the same value and find the same conflicts.
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


def concurrent(winner: FieldState, loser: FieldState) -> bool:
    return winner.base is None or winner.base < loser.hlc


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
            winner, loser = theirs, mine
        else:
            winner, loser = mine, theirs
        if winner.value != loser.value and concurrent(winner, loser):
            conflicts.append(Conflict(name, winner, loser))
    return MergeResult(applied, conflicts)


def incoming_states(m: Mutation) -> dict[str, FieldState]:
    return {
        name: FieldState(value, m.hlc[name], m.base.get(name)) for name, value in m.fields.items()
    }
