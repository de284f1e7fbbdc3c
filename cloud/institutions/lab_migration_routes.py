"""The lab's data migration page of the portal: the receiving lab's administrator
generates a verification code (shown once); the sending lab's administrator names the
receiving lab, enters its code and follows the move's status (the page reloads itself
while a move is under way). Forms are POST with a CSRF token."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from cloud.api.deps import SessionDep
from cloud.crud import Refused
from cloud.institutions import migration
from cloud.institutions.lab_session import LabDep, LabFormDep, Signed
from cloud.institutions.migration_models import QUEUED, RUNNING
from cloud.portal.web import render

router = APIRouter(include_in_schema=False)
F = Annotated[str, Form(max_length=200)]


def _page(request: Request, session: SessionDep, signed: Signed, status: int = 200,
          **context: Any) -> Response:
    caller = signed.caller(request)
    rows = migration.migrations_of(session, signed.lab) if caller.is_admin else []
    return render(request, "lab_migration.html", status, lab=signed.lab, member=signed.member,
                  is_admin=caller.is_admin, lab_csrf=signed.row.csrf, migrations=rows,
                  under_way=any(r.status in (QUEUED, RUNNING) for r in rows), **context)


@router.get("/lab/migration")
def page(request: Request, session: SessionDep, signed: LabDep, started: int = 0) -> Response:
    said = "The data migration was started. Its status is below." if started else None
    return _page(request, session, signed, notice=said)


@router.post("/lab/migration/code")
def new_code(request: Request, session: SessionDep, signed: LabFormDep) -> Response:
    try:
        code, expires = migration.generate_code(session, signed.lab, signed.caller(request))
    except Refused as exc:
        return _page(request, session, signed, exc.status, error=exc.reason)
    return _page(request, session, signed, code=code,
                 expires=expires.strftime("%Y-%m-%d %H:%M"))


@router.post("/lab/migration")
def send(request: Request, session: SessionDep, signed: LabFormDep, receiver: F,
         code: F) -> Response:
    try:
        migration.start(session, signed.lab, receiver, code, signed.caller(request))
        request.app.state.jobs.wake()
    except Refused as exc:
        return _page(request, session, signed, exc.status, error=exc.reason,
                     receiver=receiver)
    # Redirected, so that reloading the page (as it does while the move runs) never
    # sends the form again.
    return RedirectResponse("/lab/migration?started=1", status_code=303)
