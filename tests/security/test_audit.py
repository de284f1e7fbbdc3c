"""Finding 10: every read that shows patient data is audited (lists and searches with
what they showed, refused probes of the JSON route), and the keyed, anchored chain
detects rewriting, truncation and deletion."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import delete, select, update

from cloud import audit
from cloud.portal.models import AuditEntry
from tests.unit.cloud.portal.support import ADMIN_PW, DAY, Clinic, doctor_login

UNKNOWN = "00000000-0000-4000-8000-000000000000"


def _rows(client: TestClient, action: str) -> list[AuditEntry]:
    with client.app.state.sessionmaker() as s:  # type: ignore[attr-defined]
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == action)
                              .order_by(AuditEntry.id)))


def test_lists_searches_diary_and_json_reads_are_audited_with_what_they_showed(
        clinic: Clinic, browser: Callable[[str], TestClient]) -> None:
    http = browser("10.9.9.1")
    assert doctor_login(http, clinic.iid, "admin", ADMIN_PW).status_code == 303
    everyone = set(clinic.patients.values())
    http.get("/doctor/patients")
    http.get("/doctor/patients", params={"q": "Ben"})
    http.get("/doctor/diary", params={"date": DAY})
    http.get("/portal/api/patients")
    assert http.get(f"/portal/api/patients/{UNKNOWN}").status_code == 404

    def shown(row: AuditEntry) -> set[str]:
        return set(row.detail.split(": ", 1)[1].split(",")) - {""}

    lists = _rows(http, "patient_list")
    assert [(r.target, shown(r)) for r in lists] == [("list", everyone),
                                                     ("api list", everyone)]
    (search,) = _rows(http, "patient_search")
    assert search.target == "search: Ben" and shown(search) == {clinic.patients["Ben"]}
    (diary,) = _rows(http, "diary_view")
    assert diary.target == f"diary {DAY}" and shown(diary) == everyone
    assert all(r.address == "10.9.9.1" and r.actor == "admin:admin"
               for r in [*lists, search, diary])
    (probe,) = _rows(http, "patient_view_refused")
    assert probe.target == UNKNOWN and probe.detail == "api"


def _verdict(client: TestClient) -> audit.Verdict:
    with client.app.state.sessionmaker() as s:  # type: ignore[attr-defined]
        return audit.verify(s)


def _history(clinic: Clinic, client: TestClient) -> list[int]:
    for _ in range(3):
        assert doctor_login(client, clinic.iid, "admin", ADMIN_PW).status_code == 303
        client.get("/doctor/patients")
    assert _verdict(client).ok
    with client.app.state.sessionmaker() as s:  # type: ignore[attr-defined]
        return list(s.scalars(select(AuditEntry.id).order_by(AuditEntry.id)))


def test_removing_the_last_rows_is_detected(clinic: Clinic, client: TestClient) -> None:
    ids = _history(clinic, client)
    with client.app.state.sessionmaker() as s:  # type: ignore[attr-defined]
        s.execute(delete(AuditEntry).where(AuditEntry.id >= ids[-3]))
        s.commit()
    verdict = _verdict(client)
    assert not verdict.ok and "gone" in verdict.reason
    assert clinic.api("GET", "/audit/verify")["ok"] is False


def test_removing_every_row_is_detected(clinic: Clinic, client: TestClient) -> None:
    _history(clinic, client)
    with client.app.state.sessionmaker() as s:  # type: ignore[attr-defined]
        s.execute(delete(AuditEntry))
        s.commit()
    assert not _verdict(client).ok


def test_a_row_rewritten_with_the_chain_recomputed_is_detected(
        clinic: Clinic, client: TestClient) -> None:
    ids = _history(clinic, client)
    with client.app.state.sessionmaker() as s:  # type: ignore[attr-defined]
        rows = list(s.scalars(select(AuditEntry).order_by(AuditEntry.id)))
        # What someone with the database, but not the key, can do: change a row and
        # recompute every hash after it the way the chain was built before.
        prev = audit.GENESIS
        for row in rows:
            if row.id == ids[2]:
                row.address = "10.0.0.99"
            row.prev_hash = prev
            row.hash = audit._legacy_digest(prev, row)
            prev = row.hash
        s.commit()
    assert not _verdict(client).ok


def test_the_key_is_kept_outside_the_database(clinic: Clinic, client: TestClient) -> None:
    settings = client.app.state.settings  # type: ignore[attr-defined]
    key_file = settings.data_dir / "audit.key"
    assert key_file.exists() and oct(key_file.stat().st_mode & 0o777) == "0o600"
    with client.app.state.sessionmaker() as s:  # type: ignore[attr-defined]
        row = s.scalars(select(AuditEntry).limit(1)).one()
        s.execute(update(AuditEntry).where(AuditEntry.id == row.id).values(detail="x"))
        s.commit()
    assert not _verdict(client).ok
