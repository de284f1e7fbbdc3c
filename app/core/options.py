"""Every practice-database setting, declared once: key, type, default, label."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Option:
    key: str
    type: type
    default: Any
    label: str


OPTIONS: dict[str, Option] = {
    o.key: o
    for o in (
        Option("practice_name", str, "My practice", "Practice name"),
        Option("automatic_update", bool, True, "Upload changes to the server automatically"),
        Option("currency", str, "", "Currency symbol shown with amounts"),
        Option("default_appointment_minutes", int, 30, "Default appointment length (minutes)"),
        Option("server_url", str, "", "Server address"),
        Option("installation_id", str, "", "Installation ID"),
        Option("device_id", str, "", "This computer's device ID on the server"),
        Option("institution_code", str, "", "The practice's institution code (labs use it)"),
        Option("country", str, "", "Country of the practice (two-letter code)"),
        Option("registered_email", str, "", "Email address given at registration"),
        Option("conflicts_cursor", int, 0, "How far the copy of the server's conflict list is"),
        # This PC's "Remind me later" for offline images: not asked again that day.
        Option("offline_images_remind_after", str, "", "Offline images: do not ask before"),
        # Set when the practice's clinic was dissolved and its data deleted here: why.
        Option("dissolved_notice", str, "", "Why the practice's data was deleted"),
    )
}


def coerce(key: str, value: Any) -> Any:
    option = OPTIONS[key]
    if value is None:
        return option.default
    if option.type is bool:
        if not isinstance(value, bool):
            raise ValueError(f"{option.label}: must be yes or no")
        return value
    if option.type is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise ValueError(f"{option.label}: must be a whole number")
    if option.type is str and not isinstance(value, str):
        raise ValueError(f"{option.label}: must be text")
    return value
