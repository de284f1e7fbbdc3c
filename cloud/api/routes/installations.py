"""Registering a practice database, its upload password, and its devices."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from sqlalchemy.exc import IntegrityError

from cloud.api.deps import DeviceDep, SessionDep, SettingsDep
from cloud.crud import installations as crud
from cloud.institutions import service
from cloud.institutions.models import Institution
from cloud.schemas import (
    ChangePasswordIn,
    ClinicIn,
    ClinicOut,
    DeviceIn,
    DeviceInfo,
    DeviceOut,
    MailedOut,
    Problem,
    RegisterIn,
    RegisterOut,
    RevokeIn,
)

router = APIRouter(tags=["installations"])
InstallationIdPath = Annotated[str, Path(pattern=r"^[0-9]{12}$")]
DeviceIdPath = Annotated[str, Path(min_length=36, max_length=36)]
_errors: dict[int | str, dict[str, Any]] = {
    403: {"model": Problem}, 404: {"model": Problem}, 429: {"model": Problem},
    502: {"model": Problem}}


def _address(request: Request) -> str:
    return request.client.host if request.client else ""


@router.post("/installations", status_code=201, response_model=RegisterOut,
             responses={429: {"model": Problem}, 502: {"model": Problem}})
def register(body: RegisterIn, session: SessionDep, settings: SettingsDep,
             request: Request) -> RegisterOut:
    """Register a practice database; its upload password is mailed to `email`."""
    inst = crud.register(session, settings=settings, email=body.email,
                         address=_address(request))
    return RegisterOut(installation_id=inst.id, email=inst.email,
                       message="the upload password was sent to this address")


@router.post("/installations/{installation_id}/password/resend", status_code=202,
             response_model=MailedOut, responses={**_errors, 429: {"model": Problem}})
def resend_password(
    installation_id: InstallationIdPath, session: SessionDep, settings: SettingsDep
) -> MailedOut:
    """Mail a new upload password to the registered address (the current one stays valid
    until the new one is first used)."""
    sent_to = crud.resend_password(session, settings=settings, installation_id=installation_id)
    return MailedOut(sent_to=sent_to)


@router.post("/installations/{installation_id}/password", status_code=204,
             responses=_errors)
def change_password(
    installation_id: InstallationIdPath, body: ChangePasswordIn, session: SessionDep,
    request: Request,
) -> Response:
    """Change the upload password: a chosen one must be hard to guess (about 50 bits: four
    unrelated words) and not a common password."""
    crud.change_password(session, installation_id=installation_id,
                         current=body.current_password, new=body.new_password,
                         address=_address(request))
    return Response(status_code=204)


@router.post("/installations/{installation_id}/devices", status_code=201,
             response_model=DeviceOut, responses=_errors)
def register_device(
    installation_id: InstallationIdPath, body: DeviceIn, session: SessionDep,
    request: Request,
) -> DeviceOut:
    """Credentials for one PC. The token is shown once; keep it in the keyring."""
    device, token = crud.register_device(
        session, installation_id=installation_id, password=body.upload_password,
        node=body.node, name=body.name, address=_address(request),
    )
    clinic = _clinic(session, installation_id, body.practice_name)
    return DeviceOut(device_id=device.id, installation_id=device.installation_id,
                     node=device.node, name=device.name, token=token,
                     institution_code=clinic.code)


@router.post("/clinic", response_model=ClinicOut, responses={401: {"model": Problem}})
def clinic(body: ClinicIn, device: DeviceDep, session: SessionDep) -> ClinicOut:
    """The practice's clinic, made now if its PCs joined before clinics were made as a PC
    joins (named after the practice), so that labs find it without an administrator
    opening the Institution window first."""
    return ClinicOut(institution_code=_clinic(session, device.installation_id,
                                              body.practice_name).code)


def _clinic(session: SessionDep, installation_id: str, practice_name: str) -> Institution:
    """The practice's clinic, made as its PC joins so that labs find it at once (not only
    once an administrator opens the Institution window); named after the practice."""
    try:
        clinic = service.clinic_of(session, installation_id, practice_name)
    except IntegrityError:  # another PC of the practice made it at the same moment
        session.rollback()
        clinic = service.clinic_of(session, installation_id)
    name = practice_name.strip()
    if name and clinic.name == f"Clinic {installation_id}":  # made before it had a name
        clinic.name = name[:120]
        session.commit()
    return clinic


@router.post("/installations/{installation_id}/devices/{device_id}/revoke",
             status_code=204, responses=_errors)
def revoke_with_password(
    installation_id: InstallationIdPath, device_id: DeviceIdPath, body: RevokeIn,
    session: SessionDep, request: Request,
) -> Response:
    crud.check_password(session, installation_id=installation_id,
                        password=body.upload_password, address=_address(request))
    crud.revoke_device(session, installation_id=installation_id, device_id=device_id)
    return Response(status_code=204)


@router.get("/devices", response_model=list[DeviceInfo], responses={401: {"model": Problem}})
def list_devices(device: DeviceDep, session: SessionDep) -> list[DeviceInfo]:
    return [
        DeviceInfo(device_id=d.id, node=d.node, name=d.name,
                   created_at=d.created_at.isoformat(),
                   revoked_at=d.revoked_at.isoformat() if d.revoked_at else None)
        for d in crud.list_devices(session, installation_id=device.installation_id)
    ]


@router.delete("/devices/{device_id}", status_code=204,
               responses={401: {"model": Problem}, 404: {"model": Problem}})
def revoke_device(device_id: DeviceIdPath, device: DeviceDep, session: SessionDep) -> Response:
    """Revoke a device of the caller's installation (the caller itself included)."""
    crud.revoke_device(session, installation_id=device.installation_id, device_id=device_id)
    return Response(status_code=204)
