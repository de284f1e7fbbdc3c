"""Bodies and answers of the server-management API (device-authenticated)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, Field

from app.core.wire import text_problem

UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"


def _encodable(value: str) -> str:
    problem = text_problem(value)
    if problem:
        raise ValueError(f"must be valid text: it {problem}")
    return value


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _known_zone(value: str | None) -> str | None:
    if value is None:
        return None
    if not re.fullmatch(r"[A-Za-z0-9_+\-/]{1,64}", value):
        raise ValueError("must be a time zone name such as Europe/Rome")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError("must be a time zone name such as Europe/Rome") from exc
    return value


Text = Annotated[str, AfterValidator(_encodable)]
Password = Annotated[Text, Field(min_length=1, max_length=128)]
When = Annotated[dt.datetime | None, AfterValidator(_utc)]
PatientId = Annotated[str, Field(pattern=UUID_PATTERN)]


class PasswordIn(BaseModel):
    password: Password


class OptionalPasswordIn(BaseModel):
    password: Password | None = None


class ServerSettings(BaseModel):
    installation_id: str
    login_password_set: bool
    admin_password_set: bool
    general_password_set: bool
    general_password_enabled: bool
    patient_pages_enabled: bool
    time_zone: str = "UTC"
    patient_images_enabled: bool = False
    # Wrong passwords given for this installation (portal sign-ins, the upload
    # password) in the last 24 hours, for the Server window to tell.
    failed_attempts_24h: int = 0


class SwitchesIn(BaseModel):
    general_password_enabled: bool | None = None
    patient_pages_enabled: bool | None = None
    time_zone: Annotated[str | None, AfterValidator(_known_zone)] = None
    patient_images_enabled: bool | None = None


class AccountIn(BaseModel):
    name: Annotated[Text, Field(min_length=1, max_length=64)]
    password: Password | None = None
    expires_at: When = None


class ExpiryIn(BaseModel):
    expires_at: When = None


class AccountOut(BaseModel):
    id: str
    name: str
    has_password: bool
    expires_at: dt.datetime | None
    expired: bool
    whole_database: bool
    patient_ids: list[str]


class SetupLinkIn(BaseModel):
    email: Annotated[Text, Field(max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")] | None = None


class SetupLinkOut(BaseModel):
    link: str


class SharesIn(BaseModel):
    whole_database: bool = False
    patient_ids: Annotated[list[PatientId], Field(max_length=5000)] = []


class AuditVerdict(BaseModel):
    """Whether the audit chain is whole (it spans every practice, so no more is said
    than what kind of damage was found)."""

    ok: bool
    reason: str = ""
