"""The lab's Dissolution page of the portal, for its administrators: the notice to
agree to, Continue; the administrator account the code goes to, Send code; the code,
Next; Confirm. Then the page says when the lab will be dissolved and offers Revoke
dissolution. Forms are POST with a CSRF token; each step is the page drawn again."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from cloud.api.deps import SessionDep
from cloud.crud import Refused
from cloud.institutions import dissolution
from cloud.institutions.dissolution_routes import _sender
from cloud.institutions.lab_routes import _caller, _signed_in
from cloud.institutions.models import Institution, LabMember, LabSession
from cloud.portal.web import check_csrf, render

router = APIRouter(include_in_schema=False)
F = Annotated[str, Form(max_length=200)]


def _page(request: Request, session: SessionDep, lab: Institution, member: LabMember,
          row: LabSession, status: int = 200, step: str = "notice",
          **context: object) -> Response:
    caller = _caller(member, request)
    ending = dissolution.view_of(session, lab)
    accounts: list[dissolution.Verifier] = []
    if step == "account" and caller.is_admin and not ending.state:
        accounts = dissolution.verifiers(session, lab, caller)
    return render(request, "lab_dissolution.html", status, lab=lab, member=member,
                  is_admin=caller.is_admin, lab_csrf=row.csrf, step=step, accounts=accounts,
                  state=ending.state,
                  when=dissolution.when_text(ending.dissolve_at) if ending.dissolve_at else "",
                  **context)


def _step(request: Request, session: SessionDep, csrf: str, step: str,
          work: object = None, **context: object) -> Response:
    """Check the sign-in and the form, do `work(lab, caller)` if any, draw `step`; a
    refusal draws the step before it with the reason."""
    signed = _signed_in(request, session)
    if signed is None:
        return RedirectResponse("/lab/", status_code=303)
    lab, member, row = signed
    check_csrf(row.csrf, csrf)
    if work is not None:
        try:
            context.update(work(lab, _caller(member, request)) or {})  # type: ignore[operator]
        except Refused as exc:
            back = {"code": "account", "confirm": "code", "done": "code"}.get(step, "notice")
            return _page(request, session, lab, member, row, exc.status, back,
                         error=exc.reason, **{k: v for k, v in context.items()
                                              if k in ("code_id", "sent_to")})
    return _page(request, session, lab, member, row, step=step, **context)


@router.get("/lab/dissolution")
def page(request: Request, session: SessionDep) -> Response:
    signed = _signed_in(request, session)
    if signed is None:
        return RedirectResponse("/lab/", status_code=303)
    return _page(request, session, *signed)


@router.post("/lab/dissolution/continue")
def agreed(request: Request, session: SessionDep, agree: F = "", csrf: F = "") -> Response:
    if agree != "yes":
        return _step(request, session, csrf, "notice",
                     error="Read the notice and tick that you agree to it first.")
    return _step(request, session, csrf, "account")


@router.post("/lab/dissolution/code")
def send_code(request: Request, session: SessionDep, account: F = "",
              csrf: F = "") -> Response:
    def work(lab: Institution, caller: object) -> dict[str, str]:
        code_id, where = dissolution.send_code(
            session, request.app.state.settings, _sender(request), lab, caller,  # type: ignore[arg-type]
            account)
        return {"code_id": code_id, "sent_to": where}

    return _step(request, session, csrf, "code", work)


@router.post("/lab/dissolution/next")
def typed(request: Request, session: SessionDep, code_id: F = "", code: F = "",
          csrf: F = "") -> Response:
    return _step(request, session, csrf, "confirm", code_id=code_id, code=code.strip()[:12])


@router.post("/lab/dissolution/confirm")
def confirm(request: Request, session: SessionDep, code_id: F = "", code: F = "",
            csrf: F = "") -> Response:
    def work(lab: Institution, caller: object) -> dict[str, str]:
        dissolution.confirm(session, request.app.state.settings, lab, caller,  # type: ignore[arg-type]
                            code_id, code)
        return {}

    return _step(request, session, csrf, "done", work, code_id=code_id)


@router.post("/lab/dissolution/revoke")
def revoke(request: Request, session: SessionDep, csrf: F = "") -> Response:
    def work(lab: Institution, caller: object) -> dict[str, str]:
        dissolution.revoke(session, lab, caller)  # type: ignore[arg-type]
        return {"notice": "The dissolution was revoked: the lab works as before."}

    return _step(request, session, csrf, "notice", work)
