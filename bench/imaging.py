"""Imaging: thumbnail time for a 50 MB DICOM and a 20-megapixel JPEG, and the import
rate of the acquisition folder for 1,000 files dropped at once; pydicom's whole test
corpus through the acquisition job; the thumbnail of the largest multi-frame file.

    python bench/imaging.py [--files 1000] [--settle 0.5]

The thumbnails are made from scratch (no cache). The import is timed from the first
pass of the folder to the last file filed and moved into imported/, through the real
job (copy into the image store with fsync, read-back verification, filing with the
outbox and upload queue, the move); it includes one settle period, which the rate
reports as well without. Everything happens in a temporary folder.
The corpus (about 200 files of every kind, some cut short or malformed on purpose)
is timed from its drop to the last file filed or listed as failed, with the settle
and incomplete times at 0.3 s. The multi-frame thumbnail is the middle frame of the
largest multi-frame file of the corpus, and of a 300-frame 512×512 volume (150 MB).
The encrypted store: the 50 MB DICOM opened as the viewer opens it and thumbnailed,
from the image store sealed with its key ÷ from the plain file, in the same run
(runs alternated, the fastest of five of each; target ≤ 1.15). The ratio is of the
CPU time the process spends (what decryption adds); the wall-clock ratio is printed
too, but on a machine shared with other work it swings either way by more than
the cost measured (0.6 to 1.7 under a load average of 8 on 2 cores, while the CPU
ratio stayed within 1.00 to 1.09). The import above goes through the sealed store too.
Last line: dicom_thumb_s=<x> jpeg_thumb_s=<y> import_files_per_s=<z>
corpus_files_per_s=<c> multiframe_thumb_s=<m> encrypted_open_ratio=<r>
encrypted_open_wall_ratio=<w>
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent


def make_dicom(path: Path, side: int = 5000) -> None:
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import DigitalXRayImageStorageForPresentation, ExplicitVRLittleEndian

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = DigitalXRayImageStorageForPresentation
    meta.MediaStorageSOPInstanceUID = "1.2.826.0.1.3680043.8.498.1"
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality, ds.PatientName, ds.PatientBirthDate = "DX", "BENCH^PATIENT", "19800101"
    ds.Rows = ds.Columns = side
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    yy, xx = np.mgrid[0:side, 0:side]
    rng = np.random.default_rng(1)
    pixels = ((xx + yy) * 3000 // (2 * side)) + rng.integers(0, 400, (side, side))
    ds.PixelData = pixels.astype(np.uint16).tobytes()
    ds.save_as(path, enforce_file_format=True)


def make_jpeg(path: Path, size: tuple[int, int] = (5472, 3648)) -> None:
    w, h = size
    rng = np.random.default_rng(2)
    yy, xx = np.mgrid[0:h, 0:w]
    rgb = np.stack([(xx * 255 // w), (yy * 255 // h), ((xx + yy) * 255 // (w + h))], axis=2)
    rgb = (rgb + rng.integers(0, 40, (h, w, 3))).clip(0, 255).astype(np.uint8)
    Image.fromarray(rgb, "RGB").save(path, "JPEG", quality=92)


def time_thumbnail(path: Path) -> float:
    from app.imaging import thumbnails

    start = time.perf_counter()
    thumbnails.render(path)
    return time.perf_counter() - start


def time_open_and_thumbnail(path: Path) -> tuple[float, float]:
    """(wall-clock s, CPU s of this process)."""
    from app.imaging import dicom, thumbnails

    start, cpu = time.perf_counter(), time.process_time()
    dicom.render(path)  # the viewer's picture
    dicom.header(path)  # and what it shows beside it
    thumbnails.render(path)
    return time.perf_counter() - start, time.process_time() - cpu


def bench_encrypted_open(work: Path, dcm: Path, runs: int = 5
                         ) -> tuple[tuple[float, float], tuple[float, float]]:
    """((plain wall s, plain CPU s), (sealed wall s, sealed CPU s)): the fastest of
    `runs` of each, alternated."""
    from app.imaging import sealed
    from app.imaging.cas import ImageStore

    stored = ImageStore(work / "sealed-images", key=sealed.new_key()).add_file(dcm)
    assert stored.path.read_bytes()[:8] == sealed.MAGIC
    plain_runs, sealed_runs = [], []
    for _ in range(runs):
        plain_runs.append(time_open_and_thumbnail(dcm))
        sealed_runs.append(time_open_and_thumbnail(stored.path))

    def fastest(got: list[tuple[float, float]]) -> tuple[float, float]:
        return min(w for w, _ in got), min(c for _, c in got)

    return fastest(plain_runs), fastest(sealed_runs)


def bench_import(work: Path, n: int, settle: float) -> tuple[float, float]:
    from app.store.db import open_database
    from app.store.images.acquisition_repo import AcquisitionRepo
    from app.store.services import Store
    from bench._data import secret_store
    from sync_agent.acquisition_job import AcquisitionJob

    db = open_database(work / "bench.chairside", secret_store(), allow_key_file=True)
    store = Store.over(db)
    admin = store.users.create("admin", "Admin", "correct horse", "admin")
    patient = store.patients.create(admin.viewer(), {"first_name": "Bench", "gender": "female"})
    AcquisitionRepo(db).start(admin.viewer(), patient.id, new_record="Bench")
    drop = work / "drop"
    drop.mkdir()
    rng = np.random.default_rng(3)
    for i in range(n):  # small distinct photos, as an intraoral camera makes in a session
        Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8), "RGB").save(
            drop / f"IMG_{i:05d}.jpg", "JPEG", quality=80)
    job = AcquisitionJob(db, drop, settle_s=settle)
    start = time.perf_counter()
    done = 0
    while done < n:
        done += job.run().imported
        if time.perf_counter() - start > 600:
            raise SystemExit(f"only {done} of {n} imported in 10 minutes")
    elapsed = time.perf_counter() - start
    assert not any(p.is_file() for p in drop.iterdir()), "files left in the folder"
    db.close()
    return elapsed, max(elapsed - settle, 1e-6)


def corpus_files() -> dict[str, bytes]:
    import pydicom.data

    root = Path(pydicom.data.__file__).parent
    return {str(p.relative_to(root)): p.read_bytes()
            for folder in ("test_files", "charset_files", "palettes")
            for p in sorted((root / folder).rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".py"}


def bench_corpus(work: Path) -> tuple[int, float]:
    from app.store.db import open_database
    from app.store.images.acquisition_repo import AcquisitionRepo
    from app.store.services import Store
    from bench._data import secret_store
    from sync_agent.acquisition_job import AcquisitionJob

    db = open_database(work / "corpus.chairside", secret_store(), allow_key_file=True)
    store = Store.over(db)
    admin = store.users.create("admin", "Admin", "correct horse", "admin")
    patient = store.patients.create(admin.viewer(), {"first_name": "Bench", "gender": "male"})
    repo = AcquisitionRepo(db)
    repo.start(admin.viewer(), patient.id, new_record="Corpus")
    drop = work / "corpus-drop"
    files = corpus_files()
    for name, data in files.items():
        (drop / name).parent.mkdir(parents=True, exist_ok=True)
        (drop / name).write_bytes(data)
    job = AcquisitionJob(db, drop, settle_s=0.3, incomplete_after_s=0.3)
    start = time.perf_counter()
    while True:
        job.run()
        statuses = repo.inbox(("attached", "unassigned", "quarantined", "failed"))
        if len(statuses) >= len(files):
            break
        if time.perf_counter() - start > 600:
            raise SystemExit(f"only {len(statuses)} of {len(files)} done in 10 minutes")
        time.sleep(0.05)
    elapsed = time.perf_counter() - start
    db.close()
    return len(files), elapsed


def largest_multiframe() -> Path:
    import pydicom
    import pydicom.data

    root = Path(pydicom.data.__file__).parent
    best: tuple[int, Path] | None = None
    for p in root.rglob("*.dcm"):
        try:
            ds = pydicom.dcmread(p, stop_before_pixels=True)
            frames = int(ds.get("NumberOfFrames") or 1)
        except Exception:
            continue
        if frames > 1 and (best is None or p.stat().st_size > best[0]):
            best = (p.stat().st_size, p)
    assert best is not None
    return best[1]


def make_volume(path: Path, frames: int = 300, side: int = 512) -> None:
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import EnhancedCTImageStorage, ExplicitVRLittleEndian

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = EnhancedCTImageStorage
    meta.MediaStorageSOPInstanceUID = "1.2.826.0.1.3680043.8.498.2"
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality, ds.PatientName = "CT", "BENCH^VOLUME"
    ds.Rows = ds.Columns = side
    ds.NumberOfFrames = frames
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    yy, xx = np.mgrid[0:side, 0:side]
    one = ((xx + yy) * 3000 // (2 * side)).astype(np.uint16).tobytes()
    ds.PixelData = one * frames
    ds.save_as(path, enforce_file_format=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--settle", type=float, default=0.5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="chairside-bench-") as tmp:
        work = Path(tmp)
        os.environ["CHAIRSIDE_DATA_DIR"] = str(work / "data")
        os.environ["CHAIRSIDE_CONFIG_DIR"] = str(work / "config")
        os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.null.Keyring"
        sys.path.insert(0, str(ROOT))
        dcm, jpg = work / "large.dcm", work / "large.jpg"
        make_dicom(dcm)
        make_jpeg(jpg)
        with Image.open(jpg) as im:
            megapixels = im.width * im.height / 1e6
        print(f"DICOM {dcm.stat().st_size / 1e6:.1f} MB, JPEG {megapixels:.1f} MP "
              f"({jpg.stat().st_size / 1e6:.1f} MB)")
        # The slowest of three (the first pays for imports and cold caches) is reported.
        dicom_runs = [time_thumbnail(dcm) for _ in range(3)]
        jpeg_runs = [time_thumbnail(jpg) for _ in range(3)]
        dicom_s, jpeg_s = max(dicom_runs), max(jpeg_runs)
        print("thumbnails (s): DICOM " + ", ".join(f"{t:.3f}" for t in dicom_runs)
              + "; JPEG " + ", ".join(f"{t:.3f}" for t in jpeg_runs))
        (plain_s, plain_cpu), (sealed_s, sealed_cpu) = bench_encrypted_open(work, dcm)
        ratio, wall_ratio = sealed_cpu / plain_cpu, sealed_s / plain_s
        print(f"open + thumbnail of the DICOM: plain {plain_s:.3f} s ({plain_cpu:.3f} s CPU), "
              f"encrypted store {sealed_s:.3f} s ({sealed_cpu:.3f} s CPU): CPU ratio "
              f"{ratio:.3f}, wall-clock ratio {wall_ratio:.3f}")
        elapsed, working = bench_import(work, args.files, args.settle)
        rate = args.files / elapsed
        print(f"import: {args.files} files in {elapsed:.2f} s ({rate:.0f}/s; "
              f"{args.files / working:.0f}/s without the {args.settle} s settle period)")
        logging.getLogger("chairside").setLevel(logging.ERROR)  # the corpus' refusals
        logging.getLogger("pydicom").setLevel(logging.CRITICAL)
        n, corpus_s = bench_corpus(work)
        corpus_rate = n / corpus_s
        print(f"corpus: {n} files filed or listed in {corpus_s:.2f} s ({corpus_rate:.1f}/s)")
        biggest = largest_multiframe()
        volume = work / "volume.dcm"
        make_volume(volume)
        corpus_thumb = max(time_thumbnail(biggest) for _ in range(3))
        volume_thumb = max(time_thumbnail(volume) for _ in range(3))
        print(f"multi-frame thumbnails (s): {biggest.name} {corpus_thumb:.3f}; "
              f"300×512² volume ({volume.stat().st_size / 1e6:.0f} MB) {volume_thumb:.3f}")
        print(f"dicom_thumb_s={dicom_s:.3f} jpeg_thumb_s={jpeg_s:.3f} "
              f"import_files_per_s={rate:.1f} corpus_files_per_s={corpus_rate:.1f} "
              f"multiframe_thumb_s={max(corpus_thumb, volume_thumb):.3f} "
              f"encrypted_open_ratio={ratio:.3f} encrypted_open_wall_ratio={wall_ratio:.3f}")


if __name__ == "__main__":
    main()
