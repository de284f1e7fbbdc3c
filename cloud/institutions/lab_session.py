"""Who is signed in on the lab's pages: the session cookie resolved to the lab, the
member and the session row, as FastAPI dependencies. `LabDep` sends a visitor who is not
signed in to the lab's sign-in page; `LabFormDep` also refuses a form whose CSRF token is
not the session's, so no POST route can forget either check."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Form, Request

from cloud import security
from cloud.api.deps import SessionDep
from cloud.institutions import service
from cloud.institutions.models import ADMIN_ROLE, Institution, LabMember, LabSession
from cloud.portal import clock
from cloud.portal.web import NeedLogin, address, check_csrf, is_https
from cloud.sessions import IDLE

SIGN_IN = "/lab/"


@dataclass(frozen=True)
class Signed:
    lab: Institution
    member: LabMember
    row: LabSession

    def caller(self, request: Request) -> service.Caller:
        return service.Caller(f"lab:{self.member.name}", self.member.role == ADMIN_ROLE,
                              address(request))


def cookie_name(request: Request) -> str:
    return "__Host-chairside-lab" if is_https(request) else "chairside-lab"


def signed_in(request: Request, session: SessionDep) -> Signed | None:
    token = request.cookies.get(cookie_name(request))
    if not token or len(token) > 200:
        return None
    row = session.get(LabSession, security.hash_token(token))
    if row is None:
        return None
    created = row.created_at if row.created_at.tzinfo else row.created_at.replace(
        tzinfo=clock.now().tzinfo)
    if clock.now() - created > IDLE * 8:
        session.delete(row)
        session.commit()
        return None
    member = session.get(LabMember, row.member_id)
    lab = session.get(Institution, member.institution_id) if member else None
    return Signed(lab, member, row) if lab and member else None


def lab_page(request: Request, session: SessionDep) -> Signed:
    signed = signed_in(request, session)
    if signed is None:
        raise NeedLogin(SIGN_IN)
    return signed


def lab_form(request: Request, session: SessionDep,
             csrf: Annotated[str, Form(max_length=200)] = "") -> Signed:
    signed = lab_page(request, session)
    check_csrf(signed.row.csrf, csrf)
    return signed


LabDep = Annotated[Signed, Depends(lab_page)]
LabFormDep = Annotated[Signed, Depends(lab_form)]
