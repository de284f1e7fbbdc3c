"""Finding 3: text that is not valid Unicode (a lone surrogate) or holds control
characters is refused on every way in, and one change that can not be applied does not
stop a PC's pull: it is set aside with its reason and the rest of the page applies."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from app.core.ids import new_id
from app.platform import jsoncodec
from app.store.models import Patient
from app.store.sync.sync_repo import SyncRepo
from app.store.sync.unapplied_repo import UnappliedRepo
from sync_agent.pull_job import pull_all
from tests.unit.cloud.portal.support import Clinic
from tests.unit.cloud.support import PC, patient

# Written as JSON escapes, as a hostile PC would send them: the characters themselves
# can not even be encoded to be sent.
HOSTILE = ["Ann\\ud800", "\\udfffAnn", "Ann\\u0007", "Ann\\u001b[31m", "Ann\\u0085"]


def _raw_push(pc: PC, first_name_json: str) -> Any:
    m = patient(pc)
    body = json.dumps({"mutations": [m]}).replace('"Ann"', f'"{first_name_json}"', 1)
    return pc.http.post("/api/v1/push", content=body.encode(),
                        headers={**pc.headers, "content-type": "application/json"})


@pytest.mark.parametrize("bad", HOSTILE)
def test_a_push_with_broken_or_control_characters_is_refused(pc: PC, bad: str) -> None:
    r = _raw_push(pc, bad)
    assert r.status_code == 422, r.text
    assert "first_name" in r.text
    assert pc.pull_all() == []
    assert pc.http.get("/api/v1/reconcile", headers=pc.headers).status_code == 200


def test_tabs_and_line_breaks_are_ordinary_text(pc: PC) -> None:
    pc.push(patient(pc, first_name="Ann", allergies="penicillin\n\tlatex\r\nnuts"))
    assert pc.pull_all()[0]["fields"]["allergies"]["value"] == "penicillin\n\tlatex\r\nnuts"


@pytest.mark.parametrize(("method", "path", "body"), [
    ("POST", "/accounts", '{"name": "doc\\ud800", "password": "quiet lantern tofu orbit"}'),
    ("POST", "/accounts", '{"name": "doc\\u0007", "password": "quiet lantern tofu orbit"}'),
    ("PUT", "/passwords/login", '{"password": "quiet lantern\\ud800 tofu"}'),
])
def test_the_management_api_refuses_broken_text(clinic: Clinic, method: str, path: str,
                                                body: str) -> None:
    r = clinic.pc.http.request(method, "/api/v1/server" + path, content=body.encode(),
                               headers={**clinic.pc.headers,
                                        "content-type": "application/json"})
    assert r.status_code == 422, r.text


class _Cloud:
    """A cloud whose log holds a change stored before it refused such text."""

    def __init__(self, raw_page: bytes) -> None:
        self.page = jsoncodec.loads(raw_page)

    def pull(self, after: int, limit: int,
             conflicts_after: int | None = None) -> dict[str, Any]:
        if after == 0:
            return self.page
        return {"changes": [], "cursor": after, "more": False}

    def conflicts(self, after: int, limit: int = 200) -> dict[str, Any]:
        return {"conflicts": [], "cursor": after, "more": False}


def _change(seq: int, first: str) -> dict[str, Any]:
    stamp = f"{1_700_000_000_000 + seq:013d}-0000-00000000000000aa"
    return {"seq": seq, "entity": "patient", "entity_id": new_id(),
            "fields": {"first_name": {"value": first, "hlc": stamp, "base": None},
                       "gender": {"value": "female", "hlc": stamp, "base": None}},
            "origin_node": "00000000000000aa", "mutation_id": new_id()}


def test_one_unappliable_change_is_set_aside_and_the_rest_of_the_page_applies(
        store: Any) -> None:
    page = {"changes": [_change(1, "Ann"), _change(2, "BROKEN"), _change(3, "Cat")],
            "cursor": 3, "more": False}
    raw = json.dumps(page).replace('"BROKEN"', '"Bea\\ud800"').encode()
    repo = SyncRepo(store.db)
    pull_all(repo, _Cloud(raw))  # type: ignore[arg-type]
    assert repo.pull_cursor() == 3, "the pull must go past the broken change"
    with store.db.read() as s:
        names = set(s.scalars(select(Patient.first_name)))
    assert names == {"Ann", "Cat"}
    aside = UnappliedRepo(store.db).list()
    assert [(a.entity, a.entity_id) for a in aside] == [("patient",
                                                         page["changes"][1]["entity_id"])]
    assert "First name" in aside[0].reason and "broken character" in aside[0].reason


def test_the_changes_set_aside_are_listed_in_the_changes_to_review_window(
        window: Any, qtbot: Any, ctx: Any) -> None:
    from app.ui.sync.conflicts_dialog import ConflictsDialog

    page = {"changes": [_change(1, "BROKEN"), _change(2, "Cat")], "cursor": 2, "more": False}
    raw = json.dumps(page).replace('"BROKEN"', '"Bea\\u0007"').encode()
    pull_all(SyncRepo(ctx.store.db), _Cloud(raw))  # type: ignore[arg-type]
    window.show_conflicts()
    qtbot.waitUntil(lambda: any(d.isVisible() for d in window.findChildren(ConflictsDialog)))
    dialog = next(d for d in window.findChildren(ConflictsDialog) if d.isVisible())
    qtbot.waitUntil(lambda: dialog.unapplied.isVisible())
    model = dialog.unapplied_model
    assert model.rowCount() == 1
    assert model.index(0, 0).data() == "Patient"
    assert model.index(0, 1).data() == "First name contains a control character (U+0007)"
    assert dialog.unapplied_intro.isVisible()


@pytest.mark.parametrize("name", ["pano\u0085.dcm", "pano\u0007.dcm", "pano\t.dcm"])
def test_an_upload_with_a_control_character_in_its_file_name_is_refused(
        pc: PC, name: str) -> None:
    import base64
    import hashlib

    def b64(v: str) -> str:
        return base64.b64encode(v.encode()).decode()

    meta = {"sha256": hashlib.sha256(b"x").hexdigest(), "patient_id": new_id(),
            "kind": "xray", "filename": name}
    r = pc.http.post("/files/", headers={
        "Tus-Resumable": "1.0.0", **pc.headers, "Upload-Length": "1",
        "Upload-Metadata": ",".join(f"{k} {b64(v)}" for k, v in meta.items())})
    assert r.status_code == 400 and "filename" in r.text
