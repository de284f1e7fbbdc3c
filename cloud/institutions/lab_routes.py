"""The lab's pages of the portal: a lab member signs in with the lab's institution
code; a lab administrator sends a connection request to a clinic (by the clinic's
institution code or name) and follows its state. Forms are POST with a CSRF token."""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import delete, select

from cloud import audit, security
from cloud.api.deps import SessionDep
from cloud.crud import Refused
from cloud.institutions import service
from cloud.institutions.lab_session import LabDep, LabFormDep, Signed, cookie_name, signed_in
from cloud.institutions.models import Institution, LabSession
from cloud.portal import throttle
from cloud.portal.web import address, check_csrf, check_pre, is_https, pre_token, render
from cloud.sessions import IDLE

router = APIRouter(include_in_schema=False)
F = Annotated[str, Form(max_length=200)]
WRONG = "The institution code, the user name or the password is wrong."


@router.get("/lab/")
def login_form(request: Request, session: SessionDep) -> Response:
    if signed_in(request, session):
        return RedirectResponse("/lab/connections", status_code=303)
    return render(request, "lab_login.html", pre=pre_token(request))


@router.post("/lab/login")
def login(request: Request, session: SessionDep, code: F, user: F, password: F,
          csrf: F = "") -> Response:
    check_pre(request, csrf)
    # Counted like the doctors' sign-in: per account from this address, per address,
    # and per account from anywhere with a high allowance.
    account_key = f"lab:{code.strip().upper()[:12]}:{user.strip().lower()[:64]}"
    keys, wide = [f"{account_key}@{address(request)}", f"addr:{address(request)}"], [account_key]
    wait = throttle.wait_seconds(session, keys, wide)
    if wait > 0:
        slowed = render(request, "lab_login.html", 429, pre=pre_token(request),
                        error=f"Too many failed attempts. Try again in {int(wait) + 1} "
                              "seconds.", code=code, user_name=user)
        slowed.headers["Retry-After"] = str(int(wait) + 1)
        return slowed
    found = service.lab_member(session, code, user, password)
    if found is None:
        throttle.failed(session, keys + wide)
        audit.record(session, actor=f"lab:{user[:64]}", action="lab_login_failed",
                     target=code[:12], address=address(request))
        return render(request, "lab_login.html", 401, pre=pre_token(request), error=WRONG,
                      code=code, user_name=user)
    throttle.succeeded(session, keys[0])
    _lab, member = found
    token = secrets.token_urlsafe(16)
    session.add(LabSession(token_hash=security.hash_token(token), member_id=member.id,
                           csrf=secrets.token_urlsafe(24)))
    session.commit()
    audit.record(session, actor=f"lab:{member.name}", action="lab_login",
                 target=code[:12], address=address(request))
    response = RedirectResponse("/lab/connections", status_code=303)
    response.set_cookie(cookie_name(request), token, httponly=True, samesite="strict",
                        secure=is_https(request), path="/",
                        max_age=int(IDLE.total_seconds()) * 8)
    return response


def _page(request: Request, session: SessionDep, signed: Signed, status: int = 200,
          **context: Any) -> Response:
    caller = signed.caller(request)
    requests = service.requests_of(session, signed.lab, caller)
    # Where each clinic is, as its administrator set it (country code).
    regions = dict(session.execute(select(Institution.code, Institution.region).where(
        Institution.code.in_({r.other_code for r in requests}))).all()) if requests else {}
    return render(request, "lab_connections.html", status, lab=signed.lab,
                  member=signed.member, is_admin=caller.is_admin, lab_csrf=signed.row.csrf,
                  requests=requests, regions=regions, **context)


@router.get("/lab/connections")
def connections(request: Request, session: SessionDep, signed: LabDep) -> Response:
    return _page(request, session, signed)


@router.post("/lab/connections")
def send_request(request: Request, session: SessionDep, signed: LabFormDep,
                 clinic: F) -> Response:
    try:
        req = service.request_connection(session, signed.lab, clinic, signed.caller(request))
    except Refused as exc:
        return _page(request, session, signed, exc.status, error=exc.reason, clinic=clinic)
    said = ("The clinic approved the connection." if req.state == "approved" else
            "The request was sent. The clinic's administrator will approve or refuse it.")
    return _page(request, session, signed, notice=said)


@router.post("/lab/logout")
def logout(request: Request, session: SessionDep, csrf: F = "") -> Response:
    signed = signed_in(request, session)
    if signed is not None:
        check_csrf(signed.row.csrf, csrf)
        session.execute(delete(LabSession).where(
            LabSession.token_hash == signed.row.token_hash))
        session.commit()
    response = RedirectResponse("/lab/", status_code=303)
    response.delete_cookie(cookie_name(request), path="/", secure=is_https(request),
                           httponly=True, samesite="strict")
    return response
