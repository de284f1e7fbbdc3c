from __future__ import annotations

from app.core.medical_alert import alert_text, critical_conditions


def test_drug_names_and_words_reveal_the_conditions_whatever_the_case_or_accents() -> None:
    assert critical_conditions({"medications": "XARELTO 20mg", "diseases": "Diabète"}) == [
        "anticoagulant", "diabetes"]
    assert critical_conditions({"past_medical_history": "Zoledronic acid infusions 2021"}) == [
        "bisphosphonate"]
    assert critical_conditions({"medications": "paracetamol", "diseases": "asthma"}) == []


def test_no_alert_for_no_allergy() -> None:
    assert alert_text({"allergies": "None"}) == ""
    assert alert_text({"allergies": "  Latex \n and iodine "}) == "Allergies: Latex and iodine"
