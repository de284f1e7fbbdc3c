"""The portal's Data download page: schedule with a one-time code, then retrieve.

Forms post with the session's CSRF token. The page never runs a script (the portal's
CSP forbids them): the code pop-up is a <dialog> the server renders open.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from cloud.api.deps import SessionDep, SettingsDep
from cloud.crud import Refused
from cloud.export import access, service
from cloud.export.codes import CodeSender, EmailSender
from cloud.portal import clock
from cloud.portal.web import DoctorDep, address, check_csrf, render
from cloud.sessions import Active

router = APIRouter(include_in_schema=False)
F = Annotated[str, Form(max_length=200)]
PAGE = "/doctor/download"


def sender_of(request: Request) -> CodeSender:
    """The server's code sender: email unless the app was given another (tests)."""
    sender = getattr(request.app.state, "code_sender", None)
    return sender if sender is not None else EmailSender(request.app.state.settings)


def _size(size: int) -> str:
    return f"{size / 1048576:.1f} MB" if size >= 1048576 else f"{max(1, size // 1024)} KB"


def _page(request: Request, session: SessionDep, active: Active, status: int = 200,
          **extra: Any) -> Response:
    member = access.of_principal(active.principal)
    allowed = access.holds(session, member)
    first = service.first_day(session, member.installation_id)
    tz = clock.zone(session, member.installation_id)
    rows = [{"id": d.id, "run_on": d.run_on, "status": d.status, "size": _size(d.size),
             "until": clock.shown(d.expires_at, tz)}
            for d in (service.downloads_of(session, member) if allowed else [])]
    return render(request, "download.html", status, active=active, allowed=allowed,
                  missing=access.missing(), first=first.isoformat(),
                  last=(first + service.LATEST).isoformat(), downloads=rows,
                  keep_days=service.KEEP.days, **extra)


@router.get(PAGE)
def page(request: Request, session: SessionDep, active: DoctorDep, scheduled: int = 0) -> Response:
    return _page(request, session, active, scheduled=bool(scheduled))


@router.post(f"{PAGE}/schedule")
def schedule(request: Request, session: SessionDep, settings: SettingsDep, active: DoctorDep,
             run_on: F = "", password: F = "", csrf: F = "") -> Response:
    check_csrf(active.csrf, csrf)
    member = access.of_principal(active.principal)
    try:
        day = dt.date.fromisoformat(run_on)
    except ValueError:
        day = service.first_day(session, member.installation_id)
    try:
        code_id, where = service.request_code(session, settings, sender_of(request), member,
                                              run_on=day, password=password,
                                              address=address(request))
    except Refused as exc:
        return _page(request, session, active, exc.status, error=exc.reason,
                     chosen=day.isoformat())
    return _page(request, session, active, code_id=code_id, sent_to=where,
                 chosen=day.isoformat())


@router.post(f"{PAGE}/confirm")
def confirm(request: Request, session: SessionDep, settings: SettingsDep, active: DoctorDep,
            code_id: F = "", code: F = "", csrf: F = "") -> Response:
    check_csrf(active.csrf, csrf)
    member = access.of_principal(active.principal)
    try:
        service.confirm(session, settings, member, code_id=code_id, code=code,
                        address=address(request))
    except Refused as exc:
        again = exc.reason.startswith("The code is not right")
        return _page(request, session, active, exc.status, code_error=exc.reason,
                     code_id=code_id if again else None)
    return RedirectResponse(f"{PAGE}?scheduled=1", status_code=303)


@router.post(f"{PAGE}/{{download_id}}")
def retrieve(request: Request, session: SessionDep, settings: SettingsDep, active: DoctorDep,
             download_id: str, password: F = "", csrf: F = "") -> Response:
    check_csrf(active.csrf, csrf)
    member = access.of_principal(active.principal)
    try:
        path, name = service.retrieve(session, settings, member, download_id=download_id,
                                      password=password, address=address(request))
    except Refused as exc:
        return _page(request, session, active, exc.status, error=exc.reason)
    return FileResponse(path, media_type="application/zip", filename=name,
                        headers={"Cache-Control": "no-store"})
