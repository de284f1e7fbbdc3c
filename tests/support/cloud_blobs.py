"""What the cloud keeps of an image, read the way the server reads it: its folder
blob store seals every blob with the key in `<data>/blob.key`."""

from __future__ import annotations

import base64
from pathlib import Path

from app.platform import sealed


def blob_path(cloud_data: Path, sha: str) -> Path:
    return cloud_data / "blobs" / sha[:2] / sha[2:4] / sha


def stored_plain_sha(cloud_data: Path, sha: str) -> tuple[str, int]:
    """(SHA-256, size) of the plaintext the cloud holds under `sha`; the blob on disk
    itself must be sealed (nothing of the image readable without the key)."""
    path = blob_path(cloud_data, sha)
    assert sealed.is_sealed(path), f"{sha[:12]} is stored in plain text"
    sealed.remember(base64.b64decode((cloud_data / "blob.key").read_text().strip()))
    return sealed.hash_plain(path)
