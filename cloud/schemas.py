"""Request and response bodies of the JSON API.

Requests are strict (a string is not a number, ``false`` is not ``0``) and refuse
unknown keys. Mutations are validated once more, deeply, by `app.core.wire`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.core.wire import MAX_BATCH_MUTATIONS

_ADDR = r"[^@\s\x00-\x1f]+"
Email = Annotated[
    str, StringConstraints(max_length=320, pattern=rf"^{_ADDR}@{_ADDR}\.{_ADDR}$")
]
Password = Annotated[str, StringConstraints(min_length=8, max_length=200)]
Node = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{16}$")]
InstallationId = Annotated[str, StringConstraints(pattern=r"^[0-9]{12}$")]


class Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class Open(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RegisterIn(Strict):
    email: Email


class RegisterOut(Open):
    installation_id: str
    email: str
    message: str


class MailedOut(Open):
    sent_to: str


class ChangePasswordIn(Strict):
    current_password: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    new_password: Password


class DeviceIn(Strict):
    upload_password: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    node: Node
    name: Annotated[str, StringConstraints(max_length=200)] = ""
    # The practice's name: its clinic is made (so labs find it) when its first PC joins.
    practice_name: Annotated[str, StringConstraints(max_length=120)] = ""


class DeviceOut(Open):
    device_id: str
    installation_id: str
    node: str
    name: str
    token: str
    institution_code: str = ""  # the clinic's code, to tell a lab


class ClinicIn(Strict):
    practice_name: Annotated[str, StringConstraints(max_length=120)] = ""


class ClinicOut(Open):
    institution_code: str


class DeviceInfo(Open):
    device_id: str
    node: str
    name: str
    created_at: str
    revoked_at: str | None


class RevokeIn(Strict):
    upload_password: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class MutationIn(Strict):
    """One mutation as `app.core.wire.Mutation.to_wire` writes it."""

    id: str
    entity: str
    entity_id: str
    node: str
    fields: dict[str, Any]
    hlc: dict[str, str]
    base: dict[str, str | None] = Field(default_factory=dict)


class PushIn(Strict):
    # Each mutation is checked once, by Mutation.from_wire (cloud.crud.push.parse_batch),
    # which refuses what is not an object: checked here too, every mutation's dict was
    # copied once more for nothing.
    mutations: Annotated[
        list[Any],
        Field(json_schema_extra={"maxItems": MAX_BATCH_MUTATIONS,
                                 "items": MutationIn.model_json_schema()}),
    ]


class MutationResult(Open):
    id: str
    status: Literal["applied"]
    seq: int | None
    applied: list[str]
    ignored: list[str]
    conflicts: list[str]
    clamped: list[str] | None = None
    # of each clamped field, the stamp the record holds after the batch
    stamps: dict[str, str] | None = None
    redirected: dict[str, str] | None = None
    replayed: bool | None = None


class PushOut(Open):
    results: list[MutationResult]
    last_seq: int


class FieldOut(Open):
    value: Any
    hlc: str
    base: str | None


class CompactFieldsOut(Open):
    """A change whose fields all have one stamp and no base (a creation), as sent to a PC
    that asks for the compact form (app.core.compact)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    hlc: str = Field(alias="@hlc")
    values: dict[str, Any] = Field(alias="@v")


class ChangeOut(Open):
    seq: int
    entity: str
    entity_id: str
    fields: dict[str, FieldOut] | CompactFieldsOut
    origin_node: str
    mutation_id: str | None


class PullOut(Open):
    changes: list[ChangeOut]
    cursor: int
    more: bool
    conflict_list: ConflictsOut | None = None  # asked for with conflicts_after


class RangeOut(Open):
    entity: str
    start: str
    end: str
    count: int
    digest: str
    items: list[list[str]] | None = None


class RecordOut(Open):
    entity: str
    entity_id: str
    seq: int
    fields: dict[str, FieldOut]


class ConflictSide(Open):
    value: Any
    hlc: str
    base: str | None
    node: str
    device_id: str | None


class ConflictOut(Open):
    id: int
    key: str
    entity: str
    entity_id: str
    field: str
    winner: ConflictSide
    loser: ConflictSide
    seq: int
    created_at: str
    resolved_at: str | None
    resolution: str | None
    version: int


class ConflictsOut(Open):
    conflicts: list[ConflictOut]
    cursor: int
    more: bool


class DecisionIn(Strict):
    key: Annotated[str, Field(max_length=64)]
    resolution: Literal["kept", "other", "dismissed"]


class DecisionsIn(Strict):
    decisions: Annotated[list[DecisionIn], Field(max_length=500)]


class DecisionsOut(Open):
    settled: int


class Problem(Open):
    detail: str
