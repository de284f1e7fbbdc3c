"""The address a health checking report's QR code holds: /reports/{image id}.

The same code serves the patient (after he signs in, his own page of the report) and
the doctor (the report's page in the patient's images); no one signed in is asked to
sign in, and nothing about the report is shown before that.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from cloud.api.deps import SessionDep
from cloud.crud import Refused
from cloud.models import Record
from cloud.portal.web import CurrentDep, render

router = APIRouter(include_in_schema=False)


@router.get("/reports/{image_id}")
def report(request: Request, session: SessionDep, active: CurrentDep,
           image_id: str) -> Response:
    iid = image_id[:36]
    if active is None:
        return render(request, "report_signin.html", next=f"/reports/{iid}")
    p = active.principal
    if p.kind == "patient":
        # His own images only (cloud.policy): another patient's report is not found.
        return RedirectResponse(f"/patient/me/images/{iid}", status_code=303)
    rec = session.scalars(select(Record).where(
        Record.installation_id == p.installation_id, Record.entity == "record_image",
        Record.entity_id == iid)).first()
    if rec is None:
        raise Refused(404, "no such report")
    # The image page reads it through cloud.policy, which checks that he may see it.
    return RedirectResponse(f"/doctor/patients/{rec.fields.get('patient_id')}/images/{iid}",
                            status_code=303)
