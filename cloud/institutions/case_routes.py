"""The lab's case pages: the cases sent to it (list and detail with the attachments to
download) and the status it sets, with a note. Forms are POST with a CSRF token."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response, StreamingResponse

from cloud import audit
from cloud.api.deps import SessionDep
from cloud.crud import Refused
from cloud.institutions import cases
from cloud.institutions.lab_session import LabDep, LabFormDep, Signed
from cloud.portal.web import address, render

router = APIRouter(include_in_schema=False)
F = Annotated[str, Form(max_length=200)]
NOTE = Annotated[str, Form(max_length=cases.MAX_NOTE)]


@router.get("/lab/cases")
def case_list(request: Request, session: SessionDep, signed: LabDep) -> Response:
    return render(request, "lab_cases.html", lab=signed.lab, member=signed.member,
                  lab_csrf=signed.row.csrf, cases=cases.cases_of(session, signed.lab))


def _detail(request: Request, session: SessionDep, signed: Signed, case_id: str,
            status: int = 200, **context: Any) -> Response:
    lab, member, row = signed.lab, signed.member, signed.row
    try:
        case = cases.case_of(session, lab, case_id)
    except Refused as exc:
        return render(request, "lab_cases.html", exc.status, lab=lab, member=member,
                      lab_csrf=row.csrf, cases=cases.cases_of(session, lab), error=exc.reason)
    return render(request, "lab_case.html", status, lab=lab, member=member,
                  lab_csrf=row.csrf, case=case, statuses=cases.STATUS_WORDS, **context)


@router.get("/lab/cases/{case_id}")
def case_detail(request: Request, session: SessionDep, signed: LabDep,
                case_id: str) -> Response:
    return _detail(request, session, signed, case_id)


@router.post("/lab/cases/{case_id}/status")
def case_status(request: Request, session: SessionDep, signed: LabFormDep, case_id: str,
                status: F, note: NOTE = "") -> Response:
    lab = signed.lab
    try:
        cases.set_status(session, lab, f"{signed.member.name} ({lab.name})", case_id, status,
                         note, address(request))
    except Refused as exc:
        return _detail(request, session, signed, case_id, exc.status, error=exc.reason)
    return _detail(request, session, signed, case_id,
                   notice=f"The case is now marked {cases.STATUS_WORDS[status].lower()}.")


@router.get("/lab/cases/{case_id}/files/{image_id}")
def attachment(request: Request, session: SessionDep, signed: LabDep, case_id: str,
               image_id: str) -> Response:
    lab, member = signed.lab, signed.member
    found = cases.attachment_of(session, lab, case_id, image_id)
    blobs = request.app.state.blobs
    if blobs.size(found.sha256) is None:
        raise Refused(404, "This file has not reached the server yet.")
    audit.record(session, actor=f"lab:{member.name}", action="lab_case_download",
                 target=image_id[:36], address=address(request))
    name = "".join(c for c in found.filename if c.isalnum() or c in "._- ")[:100] or "file"

    def chunks() -> Any:
        with blobs.open(found.sha256) as src:
            while block := src.read(256 * 1024):
                yield block

    return StreamingResponse(chunks(), media_type="application/octet-stream", headers={
        "Content-Disposition": f'attachment; filename="{name}"',
        "X-Content-SHA256": found.sha256})
