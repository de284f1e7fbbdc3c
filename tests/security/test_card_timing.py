"""Finding 18: signing in with an unknown card does the same password hashing as with
a known one, whether it has a password of its own or not (counted, not timed)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from cloud import security
from tests.unit.cloud.portal.support import Clinic, patient_login


def test_unknown_and_known_cards_cost_the_same_hashing(
        clinic: Clinic, browser: Callable[[str], TestClient],
        monkeypatch: pytest.MonkeyPatch) -> None:
    clinic.api("PATCH", "/settings", json={"patient_pages_enabled": True,
                                           "general_password_enabled": True})
    calls: list[int] = []
    real = security.verify_password

    def counted(h: str | None, p: str) -> bool:
        calls[-1] += 1
        return real(h, p)

    monkeypatch.setattr(security, "verify_password", counted)
    work = {}
    cards = {"unknown": "C-999", "own password": clinic.cards["Ann"],
             "general password": clinic.cards["Ben"]}
    for i, (what, card) in enumerate(cards.items()):
        calls.append(0)
        r = patient_login(browser(f"10.11.0.{i}"), clinic.iid, card, "wrong-guess-1")
        assert r.status_code == 401
        work[what] = calls[-1]
    assert len(set(work.values())) == 1, work
