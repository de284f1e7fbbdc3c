"""The recovery code: the keyring lost, the practice comes back with the printed code."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from app.imaging import sealed
from app.imaging.thumbnails import ThumbnailCache
from app.store import keys, recovery_code
from app.store.db import open_database
from app.store.dto import PatientFilter
from app.store.errors import MissingKeyError
from app.store.images.images_repo import ImagesRepo
from app.store.recovery_code import WrongRecoveryCodeError
from app.store.services import Store
from tests.unit.imaging import samples


def _lose_the_keyring(db_path: Path, secrets_store, image_key: bytes) -> None:
    keys.forget_key(db_path, secrets_store)
    secrets_store.delete(f"{keys._slot(db_path)}:{keys.IMAGE_KEY}")
    sealed.forget(image_key)  # this process forgets it too, as a new one would


def _what_the_practice_sees(store: Store, admin) -> tuple[list[str], dict[str, bytes]]:
    v = admin.viewer()
    names = sorted(p.last_name for p in store.patients.search(v, PatientFilter()))
    repo = ImagesRepo(store.db)
    images = {}
    for p in store.patients.search(v, PatientFilter()):
        for group in repo.by_record(v, p.id):
            for image in group.images:
                images[image.sha256] = repo.files.read_bytes(image.sha256)
                assert ThumbnailCache(repo.files).png(image.sha256).startswith(b"\x89PNG")
    return names, images


def test_a_lost_keyring_is_recovered_with_the_code_and_a_wrong_code_changes_nothing(
        store, admin, db_path, secrets_store, tmp_path) -> None:
    v = admin.viewer()
    for last in ("Lima", "Okafor", "Novak"):
        store.patients.create(v, {"first_name": "Ana", "last_name": last, "gender": "female"})
    [lima] = [p for p in store.patients.search(v, PatientFilter()) if p.last_name == "Lima"]
    sources = [samples.photo(tmp_path / "mouth.jpg"), samples.dicom_xray(tmp_path / "bw.dcm")]
    report = ImagesRepo(store.db).add_files(v, lima.id, sources, new_record="Check-up")
    assert report.failed == []
    before = _what_the_practice_sees(store, admin)
    assert before[0] == ["Lima", "Novak", "Okafor"] and len(before[1]) == 2
    assert all(hashlib.sha256(b).hexdigest() == sha for sha, b in before[1].items())

    code = recovery_code.create_for(store.db, secrets_store)
    image_key = store.db.image_key
    store.db.close()
    _lose_the_keyring(db_path, secrets_store, image_key)
    with pytest.raises(MissingKeyError):
        open_database(db_path, secrets_store, create=False)

    untouched = db_path.read_bytes()
    wrong = recovery_code.new_code()
    with pytest.raises(WrongRecoveryCodeError):
        recovery_code.restore(db_path, wrong, secrets_store)
    assert db_path.read_bytes() == untouched
    assert secrets_store.get(keys._slot(db_path)) is None  # nothing was put back
    with pytest.raises(MissingKeyError):
        open_database(db_path, secrets_store, create=False)

    # Typed from the printout: lower case, spaces for dashes.
    recovery_code.restore(db_path, code.lower().replace("-", " "), secrets_store)
    db = open_database(db_path, secrets_store, create=False)
    try:
        assert db.image_key == image_key
        assert _what_the_practice_sees(Store.over(db), admin) == before
        # A new code: the old one stops working, the new one works.
        newer = recovery_code.create_for(db, secrets_store)
    finally:
        db.close()
    with pytest.raises(WrongRecoveryCodeError):
        recovery_code.unseal(db_path, code)
    assert recovery_code.unseal(db_path, newer)[1] == image_key
