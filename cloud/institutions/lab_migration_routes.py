"""The lab's data migration page of the portal: the receiving lab's administrator
generates a verification code (shown once); the sending lab's administrator names the
receiving lab, enters its code and follows the move's status (the page reloads itself
while a move is under way). Forms are POST with a CSRF token."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from cloud.api.deps import SessionDep
from cloud.crud import Refused
from cloud.institutions import migration
from cloud.institutions.lab_routes import _caller, _signed_in
from cloud.institutions.migration_models import QUEUED, RUNNING
from cloud.institutions.models import Institution, LabMember, LabSession
from cloud.portal.web import check_csrf, render

router = APIRouter(include_in_schema=False)
F = Annotated[str, Form(max_length=200)]


def _page(request: Request, session: SessionDep, lab: Institution, member: LabMember,
          row: LabSession, status: int = 200, **context: object) -> Response:
    caller = _caller(member, request)
    rows = migration.migrations_of(session, lab) if caller.is_admin else []
    return render(request, "lab_migration.html", status, lab=lab, member=member,
                  is_admin=caller.is_admin, lab_csrf=row.csrf, migrations=rows,
                  under_way=any(r.status in (QUEUED, RUNNING) for r in rows), **context)


@router.get("/lab/migration")
def page(request: Request, session: SessionDep, started: int = 0) -> Response:
    signed = _signed_in(request, session)
    if signed is None:
        return RedirectResponse("/lab/", status_code=303)
    said = "The data migration was started. Its status is below." if started else None
    return _page(request, session, *signed, notice=said)


@router.post("/lab/migration/code")
def new_code(request: Request, session: SessionDep, csrf: F = "") -> Response:
    signed = _signed_in(request, session)
    if signed is None:
        return RedirectResponse("/lab/", status_code=303)
    lab, member, row = signed
    check_csrf(row.csrf, csrf)
    try:
        code, expires = migration.generate_code(session, lab, _caller(member, request))
    except Refused as exc:
        return _page(request, session, lab, member, row, exc.status, error=exc.reason)
    return _page(request, session, lab, member, row, code=code,
                 expires=expires.strftime("%Y-%m-%d %H:%M"))


@router.post("/lab/migration")
def send(request: Request, session: SessionDep, receiver: F, code: F,
         csrf: F = "") -> Response:
    signed = _signed_in(request, session)
    if signed is None:
        return RedirectResponse("/lab/", status_code=303)
    lab, member, row = signed
    check_csrf(row.csrf, csrf)
    try:
        migration.start(session, lab, receiver, code, _caller(member, request))
        request.app.state.jobs.wake()
    except Refused as exc:
        return _page(request, session, lab, member, row, exc.status, error=exc.reason,
                     receiver=receiver)
    # Redirected, so that reloading the page (as it does while the move runs) never
    # sends the form again.
    return RedirectResponse("/lab/migration?started=1", status_code=303)
