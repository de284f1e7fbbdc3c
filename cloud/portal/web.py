"""Plumbing of the portal pages: cookies, the current session, CSRF, templates and the
security headers every response carries."""

from __future__ import annotations

import logging
import re
import secrets
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cloud import audit, sessions
from cloud.api.deps import SessionDep
from cloud.crud import Refused
from cloud.policy import Principal
from cloud.portal import clock, views
from cloud.security import same
from cloud.sessions import Active

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
STATIC = Path(__file__).resolve().parents[2] / "resources" / "portal"
templates = Jinja2Templates(directory=str(TEMPLATES))

CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")


def is_https(request: Request) -> bool:
    """Served over TLS: the request came by https (directly, or through a proxy whose
    forwarded headers uvicorn trusts), or the configured public address is https."""
    public: str = request.app.state.settings.public_url
    return request.url.scheme == "https" or public.startswith("https://")


def cookie_name(request: Request, pre: bool = False) -> str:
    base = "chairside-pre" if pre else "chairside"
    return f"__Host-{base}" if is_https(request) else base


def address(request: Request) -> str:
    return request.client.host if request.client else ""


def set_cookie(request: Request, response: Response, value: str, pre: bool = False) -> None:
    response.set_cookie(cookie_name(request, pre), value, httponly=True, samesite="strict",
                        secure=is_https(request), path="/",
                        max_age=int(sessions.IDLE.total_seconds()) * (4 if pre else 8))


def clear_cookie(request: Request, response: Response, pre: bool = False) -> None:
    response.delete_cookie(cookie_name(request, pre), path="/", secure=is_https(request),
                           httponly=True, samesite="strict")


class NeedLogin(Exception):
    def __init__(self, where: str) -> None:
        super().__init__(where)
        self.where = where


def current(request: Request, session: SessionDep) -> Active | None:
    return sessions.resume(session, request.cookies.get(cookie_name(request)))


CurrentDep = Annotated[Active | None, Depends(current)]


PATIENT_PAGE = re.compile(r"/doctor/patients/[0-9A-Za-z-]{1,36}")


REPORT_PAGE = re.compile(r"/reports/[0-9A-Za-z-]{1,36}")


def back_to(path: str) -> str:
    """Where to go after signing in: a patient's page or a report (its QR code) asked
    for, else the list."""
    ok = PATIENT_PAGE.fullmatch(path) or REPORT_PAGE.fullmatch(path)
    return path if ok else "/doctor/patients"


def doctor_session(request: Request, active: CurrentDep) -> Active:
    if active is not None and active.principal.is_doctor:
        return active
    if active is None and PATIENT_PAGE.fullmatch(request.url.path):
        # a session that ran out (or none yet): sign in, then back to this patient
        expired = "&expired=1" if request.cookies.get(cookie_name(request)) else ""
        raise NeedLogin(f"/doctor/?{urlencode({'next': request.url.path})}{expired}")
    raise NeedLogin("/doctor/")


def patient_session(active: CurrentDep) -> Active:
    if active is None or active.principal.kind != "patient":
        raise NeedLogin("/patient/")
    return active


DoctorDep = Annotated[Active, Depends(doctor_session)]
PatientDep = Annotated[Active, Depends(patient_session)]


def listed(request: Request, session: Any, p: Principal, q: str, page: int = 1, *,
           via: str = "") -> views.ListPage:
    """Page `page` of the patients `p` finds with `q` (all without), audited with every
    one shown."""
    q = q[:100]
    found = views.patient_list(session, p, q, clock.now().date(), page)
    what = f"{via}search: {q}" if q else f"{via}list"
    if found.pages > 1:
        what += f" (page {found.page} of {found.pages})"
    audit.record_shown(session, actor=p.actor, action="patient_search" if q else "patient_list",
                       installation_id=p.installation_id, address=address(request),
                       what=what, patient_ids=[r.id for r in found.rows])
    return found


def check_csrf(expected: str | None, given: str | None) -> None:
    """Refuse a form whose CSRF token is missing or not the session's."""
    if not expected or not given or not same(expected, given):
        raise Refused(403, "the form has expired; reload the page and try again")


def _signed(request: Request, nonce: str) -> str:
    key = request.app.state.audit_key
    return f"{nonce}.{key.mac('pre-login csrf|' + nonce)[:32]}"


def _valid_pre(request: Request, token: str | None) -> bool:
    if not token or len(token) > 100 or "." not in token:
        return False
    return same(_signed(request, token.split(".", 1)[0]), token)


def pre_token(request: Request) -> str:
    """The login form's CSRF token (double-submitted: cookie and hidden field), signed
    by the server so that a value planted in the cookie by someone else does not pass."""
    token = request.cookies.get(cookie_name(request, pre=True))
    if _valid_pre(request, token):
        return str(token)
    return _signed(request, secrets.token_urlsafe(24))


def check_pre(request: Request, given: str | None) -> None:
    """Refuse a login form unless its token is the cookie's and the server signed it."""
    token = request.cookies.get(cookie_name(request, pre=True))
    if not _valid_pre(request, token):
        raise Refused(403, "the form has expired; reload the page and try again")
    check_csrf(token, given)


def render(request: Request, name: str, status: int = 200, *,
           active: Active | None = None, pre: str | None = None,
           **context: Any) -> HTMLResponse:
    ctx = {"user": active.principal if active else None,
           "csrf": active.csrf if active else pre, "today": clock.now().date(), **context}
    response = templates.TemplateResponse(request, name, ctx, status_code=status)
    if pre is not None:
        set_cookie(request, response, pre, pre=True)
    return response


def login_refused(request: Request, template: str, exc: Any, **form: Any) -> Response:
    """The login page again with the reason, the typed fields kept (never a password),
    and Retry-After while the account or address is being slowed down."""
    refused = render(request, template, 429 if exc.wait_s else 401, pre=pre_token(request),
                     error=exc.message, **form)
    if exc.wait_s:
        refused.headers["Retry-After"] = str(int(exc.wait_s) + 1)
    return refused


def signed_in(request: Request, session: Any, principal: Any, home: str) -> Response:
    """A fresh session for `principal` (any older one of this browser ends) and the way
    to its first page."""
    token, _active = start_session(request, session, principal)
    response = RedirectResponse(home, status_code=303)
    set_cookie(request, response, token)
    return response


def start_session(request: Request, session: Any, principal: Any) -> tuple[str, Active]:
    """A fresh session for `principal`, ending this browser's older one: (cookie token,
    the session as pages see it)."""
    sessions.end(session, request.cookies.get(cookie_name(request)))
    token, csrf = sessions.start(session, principal)
    return token, Active(principal, csrf)


def to_login(exc: NeedLogin) -> Response:
    return RedirectResponse(exc.where, status_code=303)


def is_portal_path(path: str) -> bool:
    return path.startswith(("/doctor", "/patient", "/account", "/portal", "/reports/", "/lab/"))


class RedactTokens(logging.Filter):
    """Keeps the single-use token of a setup link out of the access log."""

    _TOKEN = re.compile(r"token=[^&\s]+")

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(self._TOKEN.sub("token=[hidden]", a) if isinstance(a, str)
                                else a for a in record.args)
        return True


def wants_page(path: str) -> bool:
    """A portal page (not its JSON API): errors are shown as a page."""
    return is_portal_path(path) and not path.startswith("/portal/api")


def error_page(request: Request, status: int, reason: str) -> HTMLResponse:
    return render(request, "error.html", status, message=reason)


class SecurityHeaders:
    """CSP, no framing, no sniffing, no referrer; portal pages and API answers (patient
    data) are never cached."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        docs = path.startswith(("/docs", "/redoc"))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(b"x-content-type-options", b"nosniff"),
                            (b"referrer-policy", b"no-referrer"),
                            (b"x-frame-options", b"DENY")]
                if not docs:
                    headers.append((b"content-security-policy", CSP.encode()))
                if is_portal_path(path) or path.startswith("/api/"):
                    headers.append((b"cache-control", b"no-store"))
                if scope.get("scheme") == "https":
                    headers.append((b"strict-transport-security", b"max-age=31536000"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
