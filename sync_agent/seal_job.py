"""Sealing: image files stored before the store had a key are encrypted, a little at
each tick (app.imaging.store_sealing: verified, resumable, nothing ever lost); once
none is left, the plain thumbnails and the recovered images kept plain go too."""

from __future__ import annotations

import logging
from collections.abc import Callable

from app.imaging import recovery, store_sealing
from app.imaging.cas import ImageStore
from app.imaging.store_sealing import SealReport
from app.platform.paths import data_dir

log = logging.getLogger("chairside.agent")
SLICE_S = 0.5  # encrypted for this long at a tick


class SealJob:
    name = "image store"

    def __init__(self, files: Callable[[], ImageStore]) -> None:
        self.files = files  # the store as the agent holds it at each run
        self.done = False

    def prepare(self) -> str | None:
        if self.files().key is None:
            return "the image store has no key yet"
        return "every image file is encrypted" if self.done else None

    def run(self) -> SealReport:
        files = self.files()
        if files.key is None:  # prepared, then the key went: nothing to seal with
            return SealReport()
        report = store_sealing.seal_plain(files, budget_s=SLICE_S)
        self.done = report.remaining == 0
        if self.done:
            store_sealing.drop_plain_thumbnails(data_dir() / "thumbnails")
            try:  # the recovered images kept before the store had a key
                recovery.seal_plain(recovery.default_root(), files.key)
            except Exception:
                log.exception("sealing the recovery folder failed")
        return report
