"""The lab's Dissolution page of the portal, for its administrators: the notice to
agree to, Continue; the administrator account the code goes to, Send code; the code,
Next; Confirm. Then the page says when the lab will be dissolved and offers Revoke
dissolution. Forms are POST with a CSRF token; each step is the page drawn again."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from cloud.api.deps import SessionDep
from cloud.crud import Refused
from cloud.institutions import dissolution
from cloud.institutions.dissolution_routes import _sender
from cloud.institutions.lab_session import LabDep, LabFormDep, Signed
from cloud.institutions.models import Institution
from cloud.institutions.service import Caller
from cloud.portal.web import render

router = APIRouter(include_in_schema=False)
F = Annotated[str, Form(max_length=200)]


def _page(request: Request, session: SessionDep, signed: Signed, status: int = 200,
          step: str = "notice", **context: Any) -> Response:
    caller = signed.caller(request)
    ending = dissolution.view_of(session, signed.lab)
    accounts: list[dissolution.Verifier] = []
    if step == "account" and caller.is_admin and not ending.state:
        accounts = dissolution.verifiers(session, signed.lab, caller)
    return render(request, "lab_dissolution.html", status, lab=signed.lab,
                  member=signed.member, is_admin=caller.is_admin, lab_csrf=signed.row.csrf,
                  step=step, accounts=accounts, state=ending.state,
                  when=dissolution.when_text(ending.dissolve_at) if ending.dissolve_at else "",
                  **context)


def _step(request: Request, session: SessionDep, signed: Signed, step: str,
          work: Callable[[Institution, Caller], dict[str, str]] | None = None,
          **context: Any) -> Response:
    """Do `work(lab, caller)` if any, draw `step`; a refusal draws the step before it
    with the reason. The sign-in and the form's token were checked by `LabFormDep`."""
    if work is not None:
        try:
            context.update(work(signed.lab, signed.caller(request)))
        except Refused as exc:
            back = {"code": "account", "confirm": "code", "done": "code"}.get(step, "notice")
            return _page(request, session, signed, exc.status, back,
                         error=exc.reason, **{k: v for k, v in context.items()
                                              if k in ("code_id", "sent_to")})
    return _page(request, session, signed, step=step, **context)


@router.get("/lab/dissolution")
def page(request: Request, session: SessionDep, signed: LabDep) -> Response:
    return _page(request, session, signed)


@router.post("/lab/dissolution/continue")
def agreed(request: Request, session: SessionDep, signed: LabFormDep,
           agree: F = "") -> Response:
    if agree != "yes":
        return _step(request, session, signed, "notice",
                     error="Read the notice and tick that you agree to it first.")
    return _step(request, session, signed, "account")


@router.post("/lab/dissolution/code")
def send_code(request: Request, session: SessionDep, signed: LabFormDep,
              account: F = "") -> Response:
    def work(lab: Institution, caller: Caller) -> dict[str, str]:
        code_id, where = dissolution.send_code(
            session, request.app.state.settings, _sender(request), lab, caller, account)
        return {"code_id": code_id, "sent_to": where}

    return _step(request, session, signed, "code", work)


@router.post("/lab/dissolution/next")
def typed(request: Request, session: SessionDep, signed: LabFormDep, code_id: F = "",
          code: F = "") -> Response:
    return _step(request, session, signed, "confirm", code_id=code_id,
                 code=code.strip()[:12])


@router.post("/lab/dissolution/confirm")
def confirm(request: Request, session: SessionDep, signed: LabFormDep, code_id: F = "",
            code: F = "") -> Response:
    def work(lab: Institution, caller: Caller) -> dict[str, str]:
        dissolution.confirm(session, request.app.state.settings, lab, caller, code_id, code)
        return {}

    return _step(request, session, signed, "done", work, code_id=code_id)


@router.post("/lab/dissolution/revoke")
def revoke(request: Request, session: SessionDep, signed: LabFormDep) -> Response:
    def work(lab: Institution, caller: Caller) -> dict[str, str]:
        dissolution.revoke(session, lab, caller)
        return {"notice": "The dissolution was revoked: the lab works as before."}

    return _step(request, session, signed, "notice", work)
