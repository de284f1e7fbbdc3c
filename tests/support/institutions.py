"""Labs on a real cloud: opened by the operator (straight in its database), and a lab
admin's connection request sent through the portal's lab pages as a browser would."""

from __future__ import annotations

import re

import httpx
from sqlalchemy.orm import Session

from cloud.db import make_engine
from cloud.institutions import service

LAB_PW = "lab-admin-password-1"


def make_lab(db_url: str, name: str, *, member: str = "") -> str:
    """An operator opens a lab on the cloud: its code (and an ordinary member if asked)."""
    engine = make_engine(db_url)
    try:
        with Session(engine, expire_on_commit=False) as session:
            lab, _admin = service.create_lab(session, name=name, region="EU",
                                             admin_name="boss", admin_password=LAB_PW)
            if member:
                service.add_lab_member(session, lab, member, LAB_PW, "member")
            return lab.code
    finally:
        engine.dispose()


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def signed_in_lab(url: str, code: str, user: str = "boss") -> httpx.Client:
    """A browser of the lab's admin, signed in to its pages (close it when done)."""
    http = httpx.Client(base_url=url, timeout=30, follow_redirects=True)
    form = http.get("/lab/")
    page = http.post("/lab/login", data={"code": code, "user": user, "password": LAB_PW,
                                         "csrf": csrf_of(form.text)})
    assert page.status_code == 200, page.text
    return http


def lab_requests(url: str, lab_code: str, clinic: str) -> str:
    """The lab's admin signs in and asks to connect to `clinic`; the page's notice."""
    with httpx.Client(base_url=url, timeout=30, follow_redirects=True) as http:
        form = http.get("/lab/")
        page = http.post("/lab/login", data={"code": lab_code, "user": "boss",
                                             "password": LAB_PW, "csrf": csrf_of(form.text)})
        assert page.status_code == 200 and "/lab/connections" in str(page.url), page.text
        sent = http.post("/lab/connections", data={"clinic": clinic, "csrf": csrf_of(page.text)})
        assert sent.status_code == 200, sent.text
        found = re.search(r'id="notice">([^<]+)<', sent.text)
        assert found, sent.text
        return found.group(1)
