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
from cloud.portal import auth, clock, images, views
from cloud.portal.notes import add_note
from cloud.portal.web import (
    CurrentDep,
    DoctorDep,
    address,
    back_to,
    check_csrf,
    check_pre,
    clear_cookie,
    cookie_name,
    doctor_session,
    listed,
    login_refused,
    pre_token,
    render,
    set_cookie,
    signed_in,
    start_session,
)

router = APIRouter(include_in_schema=False)
F = Annotated[str, Form(max_length=200)]
Note = Annotated[str, Form(max_length=4000)]


@router.get("/")
def root() -> Response:
    return RedirectResponse("/doctor/", status_code=303)


@router.get("/doctor/")
def login_form(request: Request, active: CurrentDep, next: str = "",
               expired: int = 0) -> Response:
    if active is not None and active.principal.is_doctor:
        return RedirectResponse(back_to(next), status_code=303)
    return render(request, "doctor_login.html", pre=pre_token(request),
                  next=back_to(next), expired=bool(expired))


@router.get("/doctor/login")
def login_address() -> Response:
    """The address people type and bookmark: the sign-in form (the form posts here)."""
    return RedirectResponse("/doctor/", status_code=303)


@router.post("/doctor/login")
def login(request: Request, session: SessionDep, installation_id: F, login_password: F,
          user: F, password: F, csrf: F = "", next: F = "", note: Note = "") -> Response:
    check_pre(request, csrf)
    home = back_to(next)
    try:
        principal = auth.doctor(session, installation_id=installation_id.strip(),
                                login_password=login_password, user=user, password=password,
                                address=address(request))
    except auth.LoginRefused as exc:
        return login_refused(request, "doctor_login.html", exc, installation_id=installation_id,
                             user_name=user, next=home, note=note)
    if not note.strip() or home == "/doctor/patients":
        return signed_in(request, session, principal, home)
    # The note typed before the session ran out goes back into the box of the same
    # patient's page, for the doctor to read over and save.
    token, active = start_session(request, session, principal)
    page = show_patient(request, session, active, home.rsplit("/", 1)[1], draft=note)
    set_cookie(request, page, token)
    return page


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


def _day(text: str, tz: dt.tzinfo) -> dt.date:
    try:
        return dt.date.fromisoformat(text) if text else clock.today(tz)
    except ValueError:
        return clock.today(tz)


@router.get("/doctor/diary")
def diary(request: Request, session: SessionDep, active: DoctorDep,
          date: str = "") -> Response:
    p = active.principal
    tz = clock.zone(session, p.installation_id)
    day = _day(date[:10], tz)
    page = views.diary(session, p, day, tz)
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
        tz = clock.zone(session, p.installation_id)
        detail = views.patient_detail(session, p, patient_id, clock.today(tz), tz)
    except Refused:
        audit.record(session, actor=p.actor, action="patient_view_refused",
                     installation_id=p.installation_id, target=patient_id[:36],
                     address=address(request))
        raise
    audit.record(session, actor=p.actor, action="patient_view",
                 installation_id=p.installation_id, target=patient_id,
                 address=address(request))
    # the policy decides: doctors see images, patients only if the practice allows it
    shown = images.groups(session, p, patient_id, tz)
    img_base = f"/doctor/patients/{patient_id}/images" if p.is_doctor else "/patient/me/images"
    return render(request, "patient.html", active=active, d=detail, images=shown,
                  img_base=img_base, **extra)


@router.get("/doctor/patients/{patient_id}")
def patient_page(request: Request, session: SessionDep, active: DoctorDep,
                 patient_id: str, sent: int = 0) -> Response:
    return show_patient(request, session, active, patient_id[:36], sent=bool(sent))


@router.post("/doctor/patients/{patient_id}/notes")
def send_note(request: Request, session: SessionDep, active: CurrentDep, patient_id: str,
              body: Note, csrf: F = "") -> Response:
    if active is None:
        # The session ran out while the note was typed: sign in again, the note kept.
        return render(request, "doctor_login.html", 401, pre=pre_token(request),
                      expired=True, next=back_to(f"/doctor/patients/{patient_id[:36]}"),
                      note=body)
    active = doctor_session(request, active)
    check_csrf(active.csrf, csrf)
    # browsers send a textarea's line breaks as CRLF; the clinic's notes use LF
    add_note(session, active.principal, patient_id=patient_id[:36],
             body=body.replace("\r\n", "\n"),
             address=address(request))
    return RedirectResponse(f"/doctor/patients/{patient_id[:36]}?sent=1#notes",
                            status_code=303)
