"""A clinic on the cloud for the portal tests: patients with visits, appointments,
agreements and payments; portal passwords; accounts and shares."""

from __future__ import annotations

import base64
import hashlib
import io
import re
from dataclasses import dataclass, field
from typing import Any

from app.core.ids import new_id
from tests.unit.cloud.support import PC

LOGIN_PW = "login-Password-1"
ADMIN_PW = "admin-Password-1"
GENERAL_PW = "general-pw-1"
DOCTOR_PW = "doctor-Password-1"
DAY = "2026-03-14"


@dataclass
class Clinic:
    pc: PC
    patients: dict[str, str] = field(default_factory=dict)  # name -> id
    cards: dict[str, str] = field(default_factory=dict)  # name -> card number
    accounts: dict[str, str] = field(default_factory=dict)  # name -> id

    @property
    def iid(self) -> str:
        return self.pc.installation_id

    def api(self, method: str, path: str, expect: int = 200, **kw: Any) -> Any:
        r = self.pc.http.request(method, "/api/v1/server" + path, headers=self.pc.headers, **kw)
        assert r.status_code == expect, r.text
        return r.json() if r.content else None

    def account(self, name: str, password: str | None = DOCTOR_PW, *,
                whole: bool = False, patients: tuple[str, ...] = (),
                expires_at: str | None = None) -> str:
        body: dict[str, Any] = {"name": name, "password": password, "expires_at": expires_at}
        acc = self.api("POST", "/accounts", 201, json=body)
        self.accounts[name] = acc["id"]
        self.share(name, whole=whole, patients=patients)
        return str(acc["id"])

    def share(self, name: str, *, whole: bool = False, patients: tuple[str, ...] = ()) -> None:
        self.api("PUT", f"/accounts/{self.accounts[name]}/shares",
                 json={"whole_database": whole,
                       "patient_ids": [self.patients[p] for p in patients]})


def seed(pc: PC) -> Clinic:
    """Three patients (Ann, Ben, Cat), each with a visit on DAY, an appointment, an
    agreement with a payment; portal passwords set; Ann has her own password."""
    clinic = Clinic(pc)
    muts = []
    people = [("Ann", "Lee", "female", "1990-05-01", "0501111111", "C-100"),
              ("Ben", "Ray", "male", "2018-02-02", "0502222222", "C-200"),
              ("Cat", "Moe", "female", "1950-03-03", "0503333333", "C-300")]
    for i, (first, last, gender, born, mobile, card) in enumerate(people):
        pid = new_id()
        clinic.patients[first] = pid
        clinic.cards[first] = card
        muts.append(pc.mutation("patient", pid, {
            "first_name": first, "last_name": last, "gender": gender, "birth_date": born,
            "mobile": mobile, "card_number": card, "diseases": f"{first}-disease",
            "medications": f"{first}-medication", "allergies": f"{first}-allergy"}))
        muts.append(pc.mutation("visit", new_id(), {
            "patient_id": pid, "visit_date": DAY, "procedure": f"{first}-filling",
            "amount_paid": f"{10 * (i + 1)}.00", "notes": f"{first}-visit-note",
            "next_visit_date": "2026-04-01", "next_visit_minutes": 30}))
        muts.append(pc.mutation("appointment", new_id(), {
            "patient_id": pid, "starts_at": f"{DAY}T{8 + i:02d}:00:00+00:00",
            "duration_minutes": 30, "reason": f"{first}-checkup", "status": "booked"}))
        agreement = new_id()
        muts.append(pc.mutation("agreement", agreement, {
            "patient_id": pid, "title": f"{first}-plan", "total": "500.00", "discount": "50.00",
            "tax": "10.00"}))
        muts.append(pc.mutation("payment", new_id(), {
            "agreement_id": agreement, "paid_on": DAY, "amount": "200.00"}))
    pc.push(*muts)
    clinic.api("PUT", "/passwords/login", 204, json={"password": LOGIN_PW})
    clinic.api("PUT", "/passwords/admin", 204, json={"password": ADMIN_PW})
    clinic.api("PUT", "/passwords/general", 204, json={"password": GENERAL_PW})
    clinic.api("PUT", f"/patients/{clinic.patients['Ann']}/password", 204,
               json={"password": "ann-own-pw"})
    return clinic


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, "no CSRF field in the page"
    return m.group(1)


def doctor_login(http: Any, iid: str, user: str, password: str,
                 login_password: str = LOGIN_PW) -> Any:
    """Log in through the form as a browser does; returns the login POST's response."""
    http.cookies.clear()
    page = http.get("/doctor/")
    return http.post("/doctor/login", data={
        "installation_id": iid, "login_password": login_password, "user": user,
        "password": password, "csrf": csrf_of(page.text)}, follow_redirects=False)


def patient_login(http: Any, iid: str, card: str, password: str) -> Any:
    http.cookies.clear()
    page = http.get("/patient/")
    return http.post("/patient/login", data={
        "installation_id": iid, "card": card, "password": password,
        "csrf": csrf_of(page.text)}, follow_redirects=False)


def picture(color: str, size: tuple[int, int] = (640, 480)) -> bytes:
    """A real PNG photo-like file of one colour."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


def file_image(clinic: Clinic, name: str, data: bytes, *, kind: str = "intraoral_photo",
               filename: str = "photo.png", visit_id: str | None = None,
               taken_at: str = f"{DAY}T09:30:00+00:00") -> str:
    """Upload `data` by tus as the practice's PC does, then file it in `name`'s record;
    returns the record image's id."""
    sha = hashlib.sha256(data).hexdigest()
    pid = clinic.patients[name]
    meta = ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in (
        ("sha256", sha), ("patient_id", pid), ("kind", kind), ("filename", filename)))
    tus = {"Tus-Resumable": "1.0.0", **clinic.pc.headers}
    r = clinic.pc.http.post("/files/", headers={**tus, "Upload-Length": str(len(data)),
                                                "Upload-Metadata": meta})
    assert r.status_code == 201, r.text
    r = clinic.pc.http.patch(r.headers["Location"], content=data, headers={
        **tus, "Content-Type": "application/offset+octet-stream", "Upload-Offset": "0"})
    assert r.status_code == 204, r.text
    image_id = new_id()
    clinic.pc.push(clinic.pc.mutation("record_image", image_id, {
        "patient_id": pid, "visit_id": visit_id, "kind": kind, "sha256": sha,
        "filename": filename, "size": len(data), "taken_at": taken_at}))
    return image_id
