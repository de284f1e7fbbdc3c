"""The doctor's pages: login, patient list and search, diary, patient page, notes.

Read-only except for the note form and logout, both POST with a CSRF token.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from cloud import audit, sessions
from cloud.api.deps import SessionDep
from cloud.crud import Refused
from cloud.portal import auth, clock, views
from cloud.portal.notes import add_note
from cloud.portal.web import (
    CurrentDep,
    DoctorDep,
    address,
    check_csrf,
    check_pre,
    clear_cookie,
    cookie_name,
    listed,
    login_refused,
    pre_token,
    render,
    signed_in,
)

router = APIRouter(include_in_schema=False)
F = Annotated[str, Form(max_length=200)]


@router.get("/")
def root() -> Response:
    return RedirectResponse("/doctor/", status_code=303)


@router.get("/doctor/")
def login_form(request: Request, active: CurrentDep) -> Response:
    if active is not None and active.principal.is_doctor:
        return RedirectResponse("/doctor/patients", status_code=303)
    return render(request, "doctor_login.html", pre=pre_token(request))


@router.get("/doctor/login")
def login_address() -> Response:
    """The address people type and bookmark: the sign-in form (the form posts here)."""
    return RedirectResponse("/doctor/", status_code=303)


@router.post("/doctor/login")
def login(request: Request, session: SessionDep, installation_id: F, login_password: F,
          user: F, password: F, csrf: F = "") -> Response:
    check_pre(request, csrf)
    try:
        principal = auth.doctor(session, installation_id=installation_id.strip(),
                                login_password=login_password, user=user, password=password,
                                address=address(request))
    except auth.LoginRefused as exc:
        return login_refused(request, "doctor_login.html", exc,
                             installation_id=installation_id, user_name=user)
    return signed_in(request, session, principal, "/doctor/patients")


@router.post("/doctor/logout")
@router.post("/patient/logout")
def logout(request: Request, session: SessionDep, active: CurrentDep,
           csrf: F = "") -> Response:
    where = "/patient/" if request.url.path.startswith("/patient") else "/doctor/"
    if active is not None:
        check_csrf(active.csrf, csrf)
        sessions.end(session, request.cookies.get(cookie_name(request)))
        audit.record(session, actor=active.principal.actor, action="logout",
                     installation_id=active.principal.installation_id,
                     address=address(request))
    response = RedirectResponse(where, status_code=303)
    clear_cookie(request, response)
    return response


@router.get("/doctor/patients")
def patient_list(request: Request, session: SessionDep, active: DoctorDep,
                 q: str = "", page: int = 1) -> Response:
    found = listed(request, session, active.principal, q, page)
    return render(request, "patients.html", active=active, found=found, rows=found.rows,
                  q=q[:100])


def _day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text) if text else clock.now().date()
    except ValueError:
        return clock.now().date()


@router.get("/doctor/diary")
def diary(request: Request, session: SessionDep, active: DoctorDep,
          date: str = "") -> Response:
    day = _day(date[:10])
    page = views.diary(session, active.principal, day)
    p = active.principal
    audit.record_shown(session, actor=p.actor, action="diary_view",
                       installation_id=p.installation_id, address=address(request),
                       what=f"diary {day.isoformat()}",
                       patient_ids=[str(r["patient_id"]) for r in page.visits + page.appointments])
    return render(request, "diary.html", active=active, day=page,
                  prev=(day - dt.timedelta(days=1)).isoformat(),
                  next=(day + dt.timedelta(days=1)).isoformat())


def show_patient(request: Request, session: SessionDep, active: sessions.Active,
                 patient_id: str, **extra: Any) -> Response:
    p = active.principal
    try:
        detail = views.patient_detail(session, p, patient_id, clock.now().date())
    except Refused:
        audit.record(session, actor=p.actor, action="patient_view_refused",
                     installation_id=p.installation_id, target=patient_id[:36],
                     address=address(request))
        raise
    audit.record(session, actor=p.actor, action="patient_view",
                 installation_id=p.installation_id, target=patient_id,
                 address=address(request))
    return render(request, "patient.html", active=active, d=detail, **extra)


@router.get("/doctor/patients/{patient_id}")
def patient_page(request: Request, session: SessionDep, active: DoctorDep,
                 patient_id: str, sent: int = 0) -> Response:
    return show_patient(request, session, active, patient_id[:36], sent=bool(sent))


@router.post("/doctor/patients/{patient_id}/notes")
def send_note(request: Request, session: SessionDep, active: DoctorDep, patient_id: str,
              body: Annotated[str, Form(max_length=4000)], csrf: F = "") -> Response:
    check_csrf(active.csrf, csrf)
    add_note(session, active.principal, patient_id=patient_id[:36], body=body,
             address=address(request))
    return RedirectResponse(f"/doctor/patients/{patient_id[:36]}?sent=1#notes",
                            status_code=303)
