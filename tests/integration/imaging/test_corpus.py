"""Acceptance: pydicom's whole test corpus dropped into the folder of the real agent.

Every file — DICOM nobody on this team made, including dicomdirtests/, charset_files/
and palettes/, and the README, JSON and ICC files that sit among them — must end
imported (and then drawn as a thumbnail, or refused for drawing with a reason) or
listed with a reason in words. No file may hold up another, no partial copy may be
stored, and every source moved to imported/ must be byte-equal to its stored copy.

Two ways of arriving: copied all at once, and written slowly in 64 KiB pieces with
a pause in the middle longer than the settle time. By default the first runs over
the whole corpus and the second over a subset covering every kind of file; set
CHAIRSIDE_FULL_CORPUS=1 to write the whole corpus slowly too.
"""

from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from app.imaging import acquisition, series
from app.imaging.cas import ImageStore
from app.imaging.errors import ImagingError, UnsupportedError
from app.imaging.sealed import read_plain
from app.imaging.thumbnails import ThumbnailCache
from app.platform.secrets import SecretStore
from app.store.db import Database, open_database
from app.store.images.acquisition_repo import AcquisitionRepo, InboxRow
from app.store.services import Store
from tests.integration.agent.test_agent_process import NoKeyring
from tests.support.waiting import wait_until
from tests.unit.imaging import samples

ROOT = Path(__file__).resolve().parents[3]
FOLDERS = ("test_files", "charset_files", "palettes")
FULL = os.environ.get("CHAIRSIDE_FULL_CORPUS") == "1"
SETTLE_S = 0.3
PAUSE_S = 1.5  # the writer's pause: five settle periods of silence mid-file
PIECE = 64 * 1024
# One or more of each kind: TIFF preamble, truncated, no preamble, implicit and big-
# endian, every compression, multi-frame, palette colour, deflated, plans, reports,
# waveforms, palettes, a CT series, a directory, national character sets, non-DICOM.
SLOW_SUBSET = (
    "test_files/CT_small.dcm", "test_files/MR_small.dcm", "test_files/MR_truncated.dcm",
    "test_files/MR_small_implicit.dcm", "test_files/MR_small_bigendian.dcm",
    "test_files/MR_small_jpeg_ls_lossless.dcm", "test_files/MR_small_jp2klossless.dcm",
    "test_files/MR_small_RLE.dcm", "test_files/JPEG2000.dcm", "test_files/SC_rgb_jpeg.dcm",
    "test_files/examples_palette.dcm", "test_files/examples_overlay.dcm",
    "test_files/examples_rgb_color.dcm", "test_files/image_dfl.dcm",
    "test_files/rtdose.dcm", "test_files/rtplan.dcm", "test_files/rtplan_truncated.dcm",
    "test_files/test-SR.dcm", "test_files/waveform_ecg.dcm", "test_files/badVR.dcm",
    "test_files/no_meta.dcm", "test_files/ExplVR_LitEndNoMeta.dcm",
    "test_files/liver_1frame.dcm", "test_files/README.txt",
    "test_files/dicomdirtests/DICOMDIR",
    "test_files/dicomdirtests/77654033/CT2/17106", "test_files/dicomdirtests/77654033/CT2/17136",
    "test_files/dicomdirtests/77654033/CT2/17166", "test_files/dicomdirtests/77654033/CT2/17196",
    "charset_files/chrGreek.dcm", "charset_files/chrH31.dcm", "palettes/hotiron.dcm",
)
_CLASS_NAME = re.compile(r"\b[A-Z][a-z]+(Error|Exception)\b|Traceback")


def corpus() -> dict[str, bytes]:
    root = samples.corpus_root()
    out = {}
    for folder in FOLDERS:
        for path in sorted((root / folder).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".py":
                out[str(path.relative_to(root))] = path.read_bytes()
    return out


class Clinic:
    def __init__(self, tmp_path: Path) -> None:
        self.db: Database = open_database(tmp_path / "xray-room.chairside",
                                          SecretStore(NoKeyring()), allow_key_file=True)
        store = Store.over(self.db)
        self.admin = store.users.create("admin", "Admin", "correct horse", "admin")
        self.patient = store.patients.create(
            self.admin.viewer(), {"first_name": "Aylin", "last_name": "Kaya",
                                  "gender": "female", "birth_date": "1985-04-03"})
        self.drop = tmp_path / "sensor"
        self.drop.mkdir()
        acquisition.save_settings(self.db.path, acquisition.FolderSettings(
            self.drop, settle_s=SETTLE_S, incomplete_after_s=PAUSE_S * 2))
        self.repo = AcquisitionRepo(self.db)
        self.repo.start(self.admin.viewer(), self.patient.id, new_record="From the sensor")

    def rows(self) -> list[InboxRow]:
        return self.repo.inbox(("attached", "unassigned", "quarantined", "failed"))

    def settled(self, names: list[str]) -> bool:
        """Every file moved to imported/ and recorded there, or listed as failed."""
        by_source = {r.source: r for r in self.rows()}
        for name in names:
            row = by_source.get(str(self.drop / name))
            if row is not None and row.status == "failed":
                continue
            moved = by_source.get(str(self.drop / acquisition.IMPORTED / name))
            if moved is None or (self.drop / name).exists():
                return False
        return True


@contextmanager
def agent_process(clinic: Clinic) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "sync_agent", "--database", str(clinic.db.path),
         "--tick", "0.1"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    try:
        yield proc
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def write_slowly(drop: Path, files: dict[str, bytes]) -> None:
    """Every file's first half in 64 KiB pieces, one long pause for all of them
    (each is then stable and incomplete), then the rest."""
    handles = {}
    for name, data in files.items():
        (drop / name).parent.mkdir(parents=True, exist_ok=True)
        handles[name] = f = open(drop / name, "wb")  # noqa: SIM115
        half = len(data) // 2
        for i in range(0, half, PIECE):
            f.write(data[i : min(i + PIECE, half)])
        f.flush()
    time.sleep(PAUSE_S)  # the device stalls: this is the test, not a wait for a result
    for name, data in files.items():
        f = handles[name]
        half = len(data) // 2
        for i in range(half, len(data), PIECE):
            f.write(data[i : i + PIECE])
        f.close()


def check_outcome(clinic: Clinic, files: dict[str, bytes]) -> dict[str, str]:
    """Everything a clinic would check afterwards; the outcome of each file."""
    store = ImageStore()
    whole = {hashlib.sha256(data).hexdigest() for data in files.values()}
    by_source = {r.source: r for r in clinic.rows()}
    outcome = {}
    for name, data in files.items():
        failed = by_source.get(str(clinic.drop / name))
        if failed is not None and failed.status == "failed":
            assert failed.reason and not _CLASS_NAME.search(failed.reason), name
            assert (clinic.drop / name).read_bytes() == data  # left untouched
            outcome[name] = "failed"
            continue
        imported = clinic.drop / acquisition.IMPORTED / name
        row = by_source[str(imported)]
        assert imported.read_bytes() == data, f"{name} changed on its way to imported/"
        assert row.sha256 and read_plain(store.path_of(row.sha256)) == data, name
        if row.status == "quarantined":
            assert row.reason and not _CLASS_NAME.search(row.reason), name
        outcome[name] = row.status
    # No partial copy anywhere in the store: every stored file is one of the whole
    # files, or a series manifest made of them.
    for stored in store.root.glob("??/*"):
        assert stored.name and (series.is_manifest(stored)
                                or stored.parent.name + stored.name in whole), stored
    return outcome


def check_thumbnails(clinic: Clinic) -> tuple[int, list[str]]:
    """Thumbnails of every stored item; those that cannot be drawn say why."""
    cache = ThumbnailCache(ImageStore())
    drawn, refused = 0, []
    for row in clinic.rows():
        if not row.sha256:
            continue
        try:
            assert cache.get(row.sha256, name=row.filename).is_file()
            drawn += 1
        except ImagingError as exc:
            # Only a decoder this computer lacks may stop a drawing, with the reason.
            assert isinstance(exc, UnsupportedError), f"{row.filename}: {exc}"
            assert row.filename in str(exc) and not _CLASS_NAME.search(str(exc))
            refused.append(row.filename)
    return drawn, refused


def _run(tmp_path: Path, files: dict[str, bytes], slowly: bool) -> dict[str, str]:
    clinic = Clinic(tmp_path)
    try:
        with agent_process(clinic):
            if slowly:
                writer = threading.Thread(target=write_slowly, args=(clinic.drop, files))
                writer.start()
                writer.join()
            else:
                for name, data in files.items():
                    (clinic.drop / name).parent.mkdir(parents=True, exist_ok=True)
                    (clinic.drop / name).write_bytes(data)
            wait_until(lambda: clinic.settled(list(files)), timeout=240, step=0.25)
        outcome = check_outcome(clinic, files)
        drawn, _refused = check_thumbnails(clinic)
        assert drawn > len(files) // 2
        return outcome
    finally:
        clinic.db.close()


def _expected(outcome: dict[str, str], files: dict[str, bytes]) -> None:
    # The corpus names strangers: no DICOM is attached to Aylin Kaya (only the
    # README, JSON and ICC files, which name nobody, are filed as "other").
    for name, status in outcome.items():
        if status == "attached":
            assert files[name][128:132] != b"DICM" and not name.endswith(".dcm"), name
    # Cut-short and malformed files are listed, never imported.
    for name in ("test_files/MR_truncated.dcm", "test_files/rtplan_truncated.dcm",
                 "test_files/no_meta.dcm"):
        if name in outcome:
            assert outcome[name] == "failed", name
    # The TIFF-preamble DICOM and the odd-VR one are checked like any DICOM.
    for name in ("test_files/CT_small.dcm", "test_files/badVR.dcm"):
        if name in outcome:
            assert outcome[name] == "quarantined", name


def test_the_whole_corpus_copied_at_once(tmp_path: Path) -> None:
    files = corpus()
    assert len(files) > 180
    outcome = _run(tmp_path, files, slowly=False)
    _expected(outcome, files)
    assert sum(1 for o in outcome.values() if o == "quarantined") > 100


@pytest.mark.parametrize("scope", ["full" if FULL else "subset"])
def test_the_corpus_written_slowly_with_a_pause(tmp_path: Path, scope: str) -> None:
    everything = corpus()
    files = everything if scope == "full" else {n: everything[n] for n in SLOW_SUBSET}
    outcome = _run(tmp_path, files, slowly=True)
    _expected(outcome, files)

