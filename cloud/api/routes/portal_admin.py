"""Managing the portal from the clinic's PCs (device token): the login, admin and
general passwords, server accounts, what is shared with them, patients' passwords.
Every change is audited."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from cloud import audit, policy
from cloud.api.deps import DeviceDep, SessionDep, SettingsDep
from cloud.crud import DeviceCtx, Refused
from cloud.crud import accounts as crud
from cloud.crud.accounts import PasswordKind
from cloud.policy import Principal
from cloud.portal.schemas import (
    UUID_PATTERN,
    AccountIn,
    AccountOut,
    AuditVerdict,
    ExpiryIn,
    OptionalPasswordIn,
    PasswordIn,
    ServerSettings,
    SetupLinkIn,
    SetupLinkOut,
    SharesIn,
    SwitchesIn,
)
from cloud.schemas import Problem

router = APIRouter(prefix="/server", tags=["server"],
                   responses={401: {"model": Problem}, 404: {"model": Problem},
                              422: {"model": Problem}})
AccountId = Annotated[str, Path(pattern=UUID_PATTERN)]
PatientIdPath = Annotated[str, Path(pattern=UUID_PATTERN)]


def _principal(device: DeviceCtx) -> Principal:
    p = Principal(device.installation_id, "device", device.id)
    policy.require_device(p)
    return p


def _audit(session: SessionDep, device: DeviceCtx, request: Request, action: str,
           target: str = "", detail: str = "") -> None:
    audit.record(session, actor=f"device:{device.id}", action=action,
                 installation_id=device.installation_id, target=target,
                 address=request.client.host if request.client else "", detail=detail)


@router.get("/settings", response_model=ServerSettings)
def get_settings(device: DeviceDep, session: SessionDep) -> ServerSettings:
    p = _principal(device)
    return ServerSettings.model_validate(
        crud.settings_of(session, installation_id=p.installation_id))


@router.patch("/settings", response_model=ServerSettings)
def patch_settings(body: SwitchesIn, device: DeviceDep, session: SessionDep,
                   request: Request) -> ServerSettings:
    p = _principal(device)
    crud.update_switches(session, installation_id=p.installation_id,
                         general_password_enabled=body.general_password_enabled,
                         patient_pages_enabled=body.patient_pages_enabled,
                         time_zone=body.time_zone,
                         patient_images_enabled=body.patient_images_enabled)
    _audit(session, device, request, "settings_changed",
           detail=body.model_dump_json(exclude_none=True))
    return ServerSettings.model_validate(
        crud.settings_of(session, installation_id=p.installation_id))


@router.put("/passwords/{kind}", status_code=204)
def set_password(kind: PasswordKind, body: PasswordIn, device: DeviceDep,
                 session: SessionDep, request: Request) -> Response:
    """Set or change the login, admin or general (patient pages) password."""
    p = _principal(device)
    crud.set_password(session, installation_id=p.installation_id, kind=kind,
                      password=body.password)
    _audit(session, device, request, "password_set", target=kind)
    return Response(status_code=204)


def _out(info: crud.AccountInfo) -> AccountOut:
    return AccountOut(id=info.id, name=info.name, has_password=info.has_password,
                      expires_at=info.expires_at, expired=info.expired,
                      whole_database=info.whole_database, patient_ids=list(info.patient_ids))


def _one(session: SessionDep, installation_id: str, account_id: str) -> AccountOut:
    for info in crud.list_accounts(session, installation_id=installation_id):
        if info.id == account_id:
            return _out(info)
    raise Refused(404, "unknown account")


@router.get("/accounts", response_model=list[AccountOut])
def list_accounts(device: DeviceDep, session: SessionDep) -> list[AccountOut]:
    p = _principal(device)
    return [_out(i) for i in crud.list_accounts(session, installation_id=p.installation_id)]


@router.post("/accounts", status_code=201, response_model=AccountOut,
             responses={409: {"model": Problem}})
def create_account(body: AccountIn, device: DeviceDep, session: SessionDep,
                   request: Request) -> AccountOut:
    """An account, with or without a password (without: it can not log in until its
    first password is set by a setup link or here)."""
    p = _principal(device)
    account = crud.create_account(session, installation_id=p.installation_id, name=body.name,
                                  password=body.password, expires_at=body.expires_at)
    _audit(session, device, request, "account_created", target=account.name,
           detail="temporary" if body.expires_at else "")
    return _one(session, p.installation_id, account.id)


@router.delete("/accounts/{account_id}", status_code=204)
def delete_account(account_id: AccountId, device: DeviceDep, session: SessionDep,
                   request: Request) -> Response:
    p = _principal(device)
    name = crud.delete_account(session, installation_id=p.installation_id,
                               account_id=account_id)
    _audit(session, device, request, "account_deleted", target=name)
    return Response(status_code=204)


@router.put("/accounts/{account_id}/password", status_code=204)
def set_account_password(account_id: AccountId, body: PasswordIn, device: DeviceDep,
                         session: SessionDep, request: Request) -> Response:
    p = _principal(device)
    account = crud.set_account_password(session, installation_id=p.installation_id,
                                        account_id=account_id, password=body.password)
    _audit(session, device, request, "account_password_set", target=account.name)
    return Response(status_code=204)


@router.put("/accounts/{account_id}/expiry", response_model=AccountOut)
def set_expiry(account_id: AccountId, body: ExpiryIn, device: DeviceDep,
               session: SessionDep, request: Request) -> AccountOut:
    p = _principal(device)
    account = crud.set_expiry(session, installation_id=p.installation_id,
                              account_id=account_id, expires_at=body.expires_at)
    _audit(session, device, request, "account_expiry_set", target=account.name,
           detail=body.expires_at.isoformat() if body.expires_at else "none")
    return _one(session, p.installation_id, account_id)


@router.post("/accounts/{account_id}/setup-link", response_model=SetupLinkOut,
             responses={502: {"model": Problem}})
def setup_link(account_id: AccountId, body: SetupLinkIn, device: DeviceDep,
               session: SessionDep, settings: SettingsDep, request: Request) -> SetupLinkOut:
    """A single-use, expiring link that sets the account's password; mailed to `email`
    when given, and returned either way."""
    p = _principal(device)
    base = settings.public_base
    link = crud.setup_link(session, settings=settings, installation_id=p.installation_id,
                           account_id=account_id, base_url=base, email=body.email)
    _audit(session, device, request, "account_setup_link", target=account_id)
    return SetupLinkOut(link=link)


@router.put("/accounts/{account_id}/shares", response_model=AccountOut)
def set_shares(account_id: AccountId, body: SharesIn, device: DeviceDep,
               session: SessionDep, request: Request) -> AccountOut:
    """Replace what the account sees: the whole database and/or specific patients."""
    p = _principal(device)
    crud.set_shares(session, installation_id=p.installation_id, account_id=account_id,
                    whole_database=body.whole_database, patient_ids=body.patient_ids)
    _audit(session, device, request, "shares_set", target=account_id,
           detail=f"whole={body.whole_database} patients={len(body.patient_ids)}")
    return _one(session, p.installation_id, account_id)


@router.put("/patients/{patient_id}/password", status_code=204)
def set_patient_password(patient_id: PatientIdPath, body: OptionalPasswordIn,
                         device: DeviceDep, session: SessionDep, request: Request) -> Response:
    """A patient's own password for his page (null removes it)."""
    p = _principal(device)
    crud.set_patient_password(session, installation_id=p.installation_id,
                              patient_id=patient_id, password=body.password)
    _audit(session, device, request, "patient_password_set", target=patient_id)
    return Response(status_code=204)


@router.get("/audit/verify", response_model=AuditVerdict)
def verify_audit(device: DeviceDep, session: SessionDep) -> AuditVerdict:
    _principal(device)
    verdict = audit.verify(session)
    return AuditVerdict(ok=verdict.ok, reason=verdict.reason)
