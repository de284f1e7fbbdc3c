"""What the chairside must not miss: allergies and critical medical history.

Allergies are always shown as typed. In the medical history, diseases and medications
a few conditions change how a dentist works (bleeding, bone healing, infection of the
heart); they are recognised by common words and drug names, in folded form. The full text
stays on the Clinical information tab.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from app.core.text import fold

HISTORY_FIELDS = ("medications", "diseases", "past_medical_history")

# Condition shown to the dentist -> folded words (or word starts) that reveal it.
CRITICAL: dict[str, tuple[str, ...]] = {
    "anticoagulant": (
        "anticoagul", "blood thinner", "warfarin", "coumadin", "acenocoumarol", "sintrom",
        "phenprocoumon", "apixaban", "eliquis", "rivaroxaban", "xarelto", "dabigatran",
        "pradaxa", "edoxaban", "heparin", "enoxaparin", "clopidogrel", "plavix",
        "ticagrelor", "prasugrel",
    ),
    "bleeding disorder": ("haemophilia", "hemophilia", "von willebrand", "thrombocytopenia"),
    "bisphosphonate": (
        "bisphosphonate", "alendron", "risedron", "ibandron", "zoledron", "denosumab",
        "prolia",
    ),
    "heart valve / endocarditis risk": (
        "endocarditis", "heart valve", "valve replacement", "prosthetic valve",
    ),
    "pacemaker": ("pacemaker", "defibrillator"),
    "diabetes": ("diabet", "insulin"),
    "pregnancy": ("pregnan",),
    "epilepsy": ("epilep", "seizure"),
}
_PATTERNS = {
    condition: re.compile(r"\b(" + "|".join(re.escape(w) for w in words) + r")")
    for condition, words in CRITICAL.items()
}


def critical_conditions(fields: Mapping[str, Any]) -> list[str]:
    """The critical conditions the history mentions, in the order of CRITICAL."""
    text = " ".join(fold(str(fields.get(name) or "")) for name in HISTORY_FIELDS)
    return [condition for condition, pattern in _PATTERNS.items() if pattern.search(text)]


def alert_text(fields: Mapping[str, Any]) -> str:
    """One line for the patient's header; empty when there is nothing to warn about."""
    parts = []
    allergies = " ".join(str(fields.get("allergies") or "").split())
    if allergies and fold(allergies) not in ("none", "no", "nil", "nkda", "-"):
        parts.append(f"Allergies: {allergies}")
    conditions = critical_conditions(fields)
    if conditions:
        parts.append("Medical history: " + ", ".join(conditions))
    return "  •  ".join(parts)
