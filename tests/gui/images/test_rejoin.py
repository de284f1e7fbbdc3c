"""A new or wiped PC joins the practice: every patient, previews at once, images when opened.

PC A files images and syncs to the real cloud process; PC B is this window's fresh
database with an empty data folder. B connects through `sync_agent connect` as a
person would, then the patient list shows every patient, the Images tab the server's
previews, and the viewer fetches an image when it is opened — verified, stored sealed.
"""

from __future__ import annotations

import hashlib
import io
import sys
from pathlib import Path

import httpx

from app.imaging.cas import ImageStore
from app.imaging.thumbnails import ThumbnailCache
from app.platform.secrets import SecretStore
from app.store.images.images_repo import ImagesRepo
from sync_agent import __main__ as agent_cli
from sync_agent import connection
from sync_agent.runner import Agent
from tests.conftest import _KEYRING
from tests.gui.patients.test_front_desk import visible_names
from tests.integration.agent.conftest import cloud, new_pc  # noqa: F401  (shared fixtures)
from tests.unit.cloud.support import register_practice
from tests.unit.imaging import samples

NAMES = [("Ana", "Lima"), ("Rui", "Sousa"), ("Zoe", "Reis")]


def test_a_fresh_pc_shows_every_patient_and_fetches_an_image_when_opened(
        cloud, window, ctx, qtbot, tmp_path: Path, monkeypatch, capsys,  # noqa: F811
        _template_db) -> None:
    with httpx.Client(base_url=cloud.url, timeout=30) as http:
        inst, password = register_practice(http, cloud.mail_dir, "rejoin@example.com")
    secrets = SecretStore(_KEYRING)
    a = new_pc("pc-a", tmp_path, _template_db)
    connection.register_device(a.db, secrets, cloud.url, inst, password)
    a_admin = a.users.create("admin-a", "Admin A", "correct horse", "admin")
    # PC A keeps its images in a folder of its own: B's data folder starts empty.
    a_images = ImagesRepo(a.db, ImageStore(tmp_path / "pc-a-images", a.db.image_key))
    made = [a.patients.create(a_admin.viewer(), {"first_name": f, "last_name": last})
            for f, last in NAMES]
    photo = samples.photo(tmp_path / "mouth.jpg", size=(1600, 1200))  # many segments
    xray = samples.dicom_xray(tmp_path / "bitewing.dcm")
    report = a_images.add_files(a_admin.viewer(), made[0].id, [photo, xray],
                                new_record="Check-up")
    assert report.failed == []
    ct = samples.ct_series(tmp_path / "ct", n=3)
    assert a_images.add_files(a_admin.viewer(), made[1].id, ct).failed == []
    a_agent = Agent(a.db, secrets, tick_s=0.05)
    a_agent.download_job.images.files = a_images.files
    a_agent.sync_once(forced=True)
    assert a_agent.last_error is None, a_agent.last_error
    a.db.close()

    # PC B joins as its person does: the installation ID and the upload password.
    b_db = ctx.store.db
    monkeypatch.setattr(sys, "stdin", io.StringIO(password + "\n"))
    code = agent_cli.main(["--database", str(b_db.path), "connect", "--server", cloud.url,
                           "--installation", inst, "--password-stdin"])
    said = capsys.readouterr().out
    assert code == 0, said
    assert "Image previews: 3 fetched" in said  # the CT's from its middle slice

    qtbot.waitUntil(lambda: {"Ana Lima", "Rui Sousa", "Zoe Reis"} <= set(
        visible_names(window)), timeout=15_000)
    window.open_patient(made[0].id)
    page = window.patient_page
    qtbot.waitUntil(lambda: page.title.text() == "Ana Lima")
    page.tabs.setCurrentWidget(page.images_tab)
    tab = page.images_tab
    qtbot.waitUntil(lambda: tab.model.rowCount() == 2)
    files = tab.images.files
    # Nothing of the files is here yet; their previews are, from the server, sealed.
    assert not any(r.present for r in tab.model.rows)
    qtbot.waitUntil(tab.model.thumbnails_ready)
    assert all(r.sha256 in tab.model._icons and tab.model.problem(r.sha256) is None
               for r in tab.model.rows)
    cache = ThumbnailCache(files)
    for r in tab.model.rows:
        stored = cache.path_of(r.sha256).read_bytes()
        assert b"PNG" not in stored[:16]  # sealed on disk
        assert cache.png(r.sha256).startswith(b"\x89PNG")

    row = next(i for i, r in enumerate(tab.model.rows) if r.filename == "bitewing.dcm")
    tab.open_viewer(row)
    viewer = tab.viewer
    qtbot.waitUntil(lambda: viewer.image is not None, timeout=15_000)
    want = hashlib.sha256(xray.read_bytes()).hexdigest()
    assert viewer.current.sha256 == want and viewer.current.present
    assert files.has(want)
    with files.open(want) as f:
        assert hashlib.sha256(f.read()).hexdigest() == want
    assert xray.read_bytes()[:200] not in files.path_of(want).read_bytes()
    assert "Patient: DOE, JOHN" in viewer.info.text()
    # Only what was opened came down.
    photo_sha = hashlib.sha256(photo.read_bytes()).hexdigest()
    assert not files.has(photo_sha)
    viewer.reject()
    # The photo (a megabyte) tells how much has come while it comes.
    tab.open_viewer(next(i for i, r in enumerate(tab.model.rows) if r.sha256 == photo_sha))
    viewer, told = tab.viewer, []
    show = viewer.message.setText
    viewer.message.setText = lambda text: (told.append(text), show(text))
    qtbot.waitUntil(lambda: viewer.image is not None, timeout=15_000)
    assert any(t.startswith("Fetching from the server…") and t.endswith(" MB") for t in told)
    with files.open(photo_sha) as f:
        assert hashlib.sha256(f.read()).hexdigest() == photo_sha
    viewer.reject()

    # A CT series: its preview is there, and opening it brings the slice shown only.
    window.open_patient(made[1].id)
    qtbot.waitUntil(lambda: page.title.text() == "Rui Sousa")
    qtbot.waitUntil(lambda: tab.model.rowCount() == 1 and tab.model.thumbnails_ready())
    assert tab.model.problem(tab.model.rows[0].sha256) is None
    tab.open_viewer(0)
    viewer = tab.viewer
    qtbot.waitUntil(lambda: viewer.image is not None and viewer.slices.isVisible(),
                    timeout=15_000)
    slices = [hashlib.sha256(p.read_bytes()).hexdigest() for p in ct]
    assert [files.has(sha) for sha in slices].count(True) == 1
    viewer.reject()
