"""Push, pull, reconciliation and the conflict inbox (bearer device token)."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Path, Query, Response

from app.core.wire import SHARED_HLC, SHARED_HLC_HEADER
from app.platform.collector import collector_paused
from cloud import audit, metrics, policy
from cloud.api.deps import DeviceDep, SessionDep
from cloud.api.fastjson import FastJSONRoute
from cloud.crud import conflicts as conflict_list
from cloud.crud import pull as reads
from cloud.crud import push as writes
from cloud.institutions.dissolution import guard_installation
from cloud.schemas import (
    ConflictsOut,
    DecisionsIn,
    DecisionsOut,
    Problem,
    PullOut,
    PushIn,
    PushOut,
    RangeOut,
    RecordOut,
)

router = APIRouter(tags=["sync"], responses={401: {"model": Problem}}, route_class=FastJSONRoute)
Bound = Annotated[str, Query(max_length=36)]


@router.post(
    "/push", response_model=PushOut, response_model_exclude_unset=True,
    responses={403: {"model": Problem}, 409: {"model": Problem}, 413: {"model": Problem},
               422: {"model": Problem}, 423: {"model": Problem}},
)
def push(body: PushIn, device: DeviceDep, session: SessionDep,
         notable: bool = False) -> Response:
    """Apply a batch of mutations: all of it, or nothing with a 4xx and the reason.

    At most MAX_BATCH_MUTATIONS mutations and MAX_BATCH_BYTES bytes of body
    (app.core.wire), else 413. With `notable`, `results` holds only the results that
    say more than "applied as sent" (a stamp clamped, a field ignored, a conflict, a
    reference redirected, a replay): a 200 answer means the whole batch is stored."""
    # A clinic being dissolved takes no change: its PCs keep them in their outbox.
    guard_installation(session, device.installation_id)
    with collector_paused():  # see app.platform.collector: a batch is many small objects
        mutations = writes.parse_batch(body.mutations)
        results, last_seq = writes.push(session, device=device, mutations=mutations)
    metrics.PUSH_MUTATIONS.inc(len(mutations))
    for user_id, detail in writes.user_changes(mutations, results):
        # Program users are who may sign in at the clinic: their changes are audited.
        audit.record(session, actor=f"device:{device.id}", action="program_user_changed",
                     installation_id=device.installation_id, target=user_id, detail=detail)
    # The results are built (or were stored) in PushOut's shape, without unset keys:
    # sent as they are instead of being validated and encoded by the model again.
    if notable:
        # A first upload's answer is ten thousand "applied as sent" a batch, which the
        # PC would only read to throw away while the cloud waits for its next batch.
        results = [r for r in results if writes.notable(r)]
    body_out = orjson.dumps({"results": results, "last_seq": last_seq})
    return Response(body_out, media_type="application/json",
                    headers={SHARED_HLC_HEADER: SHARED_HLC})


@router.get("/changes", response_model=PullOut)
def pull(
    device: DeviceDep, session: SessionDep,
    after: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=reads.MAX_PULL)] = 500,
    exclude_own: bool = False,
    conflicts_after: Annotated[int | None, Query(ge=0, le=2**62)] = None,
    compact: bool = False,
) -> Response:
    """Changes after the cursor `after`; continue with the returned `cursor` while
    `more` is true. With `conflicts_after`, the last page (`more` false) also holds
    `conflict_list`: the conflicts found or settled after that version, as
    GET /conflicts with include_resolved gives them. With `compact`, a change that sets
    all its fields with one stamp and no base (a creation) is sent as
    {"@hlc": stamp, "@v": {field: value}}; without it, field by field."""
    with collector_paused():
        body = reads.pull(session, device=device, after=after, limit=limit,
                          exclude_own=exclude_own, conflicts_after=conflicts_after,
                          compact_fields=compact)
    return Response(body, media_type="application/json")


@router.get("/reconcile", response_model=dict[str, RangeOut])
def reconcile_summary(device: DeviceDep, session: SessionDep) -> dict[str, RangeOut]:
    """Count and digest (app.core.reconcile) of every entity."""
    summary = reads.reconcile_summary(session, caller=policy.device(device))
    return {k: RangeOut.model_validate(v) for k, v in summary.items()}


@router.get("/reconcile/{entity}", response_model=RangeOut,
            responses={404: {"model": Problem}, 422: {"model": Problem}})
def reconcile_range(
    entity: Annotated[str, Path(max_length=40)], device: DeviceDep, session: SessionDep,
    start: Bound = "", end: Bound = "", items: bool = False,
) -> RangeOut:
    """Count and digest of `entity` rows with start <= id < end; with `items`, their
    (id, version) pairs too when the range is small."""
    return RangeOut.model_validate(reads.reconcile_range(
        session, caller=policy.device(device), entity=entity, start=start,
        end=end, items=items,
    ))


@router.get("/records/{entity_id}", response_model=RecordOut,
            responses={404: {"model": Problem}})
def get_record(
    entity_id: Annotated[str, Path(max_length=36)], device: DeviceDep, session: SessionDep
) -> RecordOut:
    return RecordOut.model_validate(reads.get_record(
        session, caller=policy.device(device), entity_id=entity_id))


@router.get("/conflicts", response_model=ConflictsOut)
def list_conflicts(
    device: DeviceDep, session: SessionDep,
    after: Annotated[int, Query(ge=0, le=2**62)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    include_resolved: bool = False,
) -> ConflictsOut:
    """Conflicts found or settled after version `after` (the cursor of the last page),
    in that order: a PC copies the list with it."""
    return ConflictsOut.model_validate(conflict_list.list_conflicts(
        session, caller=policy.device(device), after=after, limit=limit,
        include_resolved=include_resolved,
    ))


@router.post("/conflicts/decisions", response_model=DecisionsOut,
             responses={413: {"model": Problem}, 422: {"model": Problem}})
def decide_conflicts(body: DecisionsIn, device: DeviceDep, session: SessionDep) -> DecisionsOut:
    """Decisions made on a PC (keep the value now, take the other, dismiss): each open
    conflict named is settled with it for every PC; the first decision counts."""
    settled = conflict_list.decide(session, installation_id=device.installation_id,
                                   decisions=[d.model_dump() for d in body.decisions])
    return DecisionsOut(settled=settled)


@router.post("/conflicts/{conflict_id}/resolve", status_code=204,
             responses={404: {"model": Problem}})
def resolve_conflict(
    conflict_id: Annotated[int, Path(ge=1, le=2**62)], device: DeviceDep, session: SessionDep
) -> Response:
    """Mark a conflict as reviewed; it leaves the inbox but is kept."""
    conflict_list.resolve_by_id(session, installation_id=device.installation_id,
                                conflict_id=conflict_id)
    return Response(status_code=204)
