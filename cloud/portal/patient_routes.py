"""The patient's own page, the account setup link, and the portal's JSON reads."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from cloud import audit, sessions
from cloud.api.deps import SessionDep
from cloud.crud import Refused
from cloud.crud import accounts as crud
from cloud.portal import auth, clock, views
from cloud.portal.doctor_routes import show_patient
from cloud.portal.web import (
    REPORT_PAGE,
    CurrentDep,
    PatientDep,
    address,
    check_pre,
    clear_cookie,
    listed,
    login_refused,
    pre_token,
    render,
    signed_in,
)

router = APIRouter(include_in_schema=False)
F = Annotated[str, Form(max_length=200)]


def _home(next: str) -> str:
    """After signing in: the report whose QR code was scanned, else his page."""
    return next if REPORT_PAGE.fullmatch(next) else "/patient/me"


@router.get("/patient/")
def login_form(request: Request, active: CurrentDep, installation: str = "",
               next: str = "") -> Response:
    if active is not None and active.principal.kind == "patient":
        return RedirectResponse(_home(next), status_code=303)
    return render(request, "patient_login.html", pre=pre_token(request),
                  installation_id=installation[:12], next=_home(next))


@router.get("/patient/login")
def login_address(installation: str = "") -> Response:
    """The address people type and bookmark: the sign-in form (the form posts here)."""
    query = f"?{urlencode({'installation': installation[:12]})}" if installation else ""
    return RedirectResponse(f"/patient/{query}", status_code=303)


@router.post("/patient/login")
def login(request: Request, session: SessionDep, installation_id: F, card: F, password: F,
          csrf: F = "", next: F = "") -> Response:
    check_pre(request, csrf)
    try:
        principal = auth.patient(session, installation_id=installation_id.strip(), card=card,
                                 password=password, address=address(request))
    except auth.LoginRefused as exc:
        return login_refused(request, "patient_login.html", exc,
                             installation_id=installation_id, card=card, next=_home(next))
    return signed_in(request, session, principal, _home(next))


@router.get("/patient/me")
def my_page(request: Request, session: SessionDep, active: PatientDep) -> Response:
    assert active.principal.patient_id is not None
    return show_patient(request, session, active, active.principal.patient_id)


@router.get("/account/setup")
def setup_form(request: Request, token: str = "") -> Response:
    return render(request, "account_setup.html", pre=pre_token(request), token=token[:100])


@router.post("/account/setup")
def setup(request: Request, session: SessionDep, token: F, password: F, repeat: F,
          csrf: F = "") -> Response:
    check_pre(request, csrf)
    if password != repeat:
        return render(request, "account_setup.html", 422, pre=pre_token(request),
                      token=token, error="The two passwords differ.")
    try:
        account = crud.use_setup(session, token=token, password=password)
    except Refused as exc:
        return render(request, "account_setup.html", exc.status, pre=pre_token(request),
                      token=token, error=exc.reason)
    audit.record(session, actor=f"account:{account.name}", action="account_password_setup",
                 installation_id=account.installation_id, address=address(request))
    response = render(request, "account_setup.html", done=True)
    clear_cookie(request, response, pre=True)
    return response


def _api_session(request: Request, active: CurrentDep) -> sessions.Active:
    if active is None:
        raise HTTPException(401, "sign in first")
    return active


@router.get("/portal/api/patients")
def api_patients(request: Request, response: Response, session: SessionDep,
                 active: CurrentDep, q: str = "", page: int = 1) -> list[dict[str, Any]]:
    """One page of patients; the headers carry the true count and the page count."""
    a = _api_session(request, active)
    found = listed(request, session, a.principal, q, page, via="api ")
    response.headers["X-Total-Count"] = str(found.total)
    response.headers["X-Page"] = f"{found.page}/{found.pages}"
    return [asdict(b) for b in found.rows]


@router.get("/portal/api/patients/{patient_id}")
def api_patient(request: Request, session: SessionDep, active: CurrentDep,
                patient_id: str) -> dict[str, Any]:
    a = _api_session(request, active)
    p = a.principal
    try:
        tz = clock.zone(session, p.installation_id)
        d = views.patient_detail(session, p, patient_id[:36], clock.today(tz), tz)
    except Refused:
        audit.record(session, actor=p.actor, action="patient_view_refused",
                     installation_id=p.installation_id, target=patient_id[:36],
                     address=address(request), detail="api")
        raise
    audit.record(session, actor=p.actor, action="patient_view", installation_id=p.installation_id,
                 target=patient_id[:36], address=address(request), detail="api")
    return views.detail_json(d, p)

