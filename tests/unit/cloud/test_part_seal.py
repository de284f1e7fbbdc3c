"""An upload's part file is encrypted so that any piece decrypts at its position, after a
restart too, and a position written again after a cut is never under the same key."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

from cloud.tus.part_seal import PartSeal


def test_pieces_decrypt_at_their_position_after_a_restart_and_rewrites_get_new_keys(
        tmp_path: Path) -> None:
    master = os.urandom(32)
    plain = os.urandom(300_000)
    seal = PartSeal(tmp_path, "u", master)
    seal.begin(0)
    # Written in pieces as a body arrives, some not on a cipher block boundary.
    cuts = [0, 7, 100, 70_000, 300_000]
    stored = b"".join(seal.crypt(plain[a:b], a) for a, b in itertools.pairwise(cuts))
    assert len(stored) == len(plain) and stored != plain
    again = PartSeal(tmp_path, "u", master)  # another process: the keys from the disk
    assert again.crypt(stored, 0) == plain
    assert again.crypt(stored[12_345:20_001], 12_345) == plain[12_345:20_001]
    kept = (tmp_path / "u.keys").read_text()
    assert seal.keys[0].hex() not in kept and master.hex() not in kept  # wrapped only

    again.begin(1000)  # the part cut back to 1000 bytes, and written again from there
    rewritten = again.crypt(plain[1000:5000], 1000)
    assert rewritten != stored[1000:5000]  # a fresh keystream, not the one cut off
    assert again.crypt(rewritten, 1000) == plain[1000:5000]
    assert again.crypt(stored[10:1000], 10) == plain[10:1000]  # before the cut: as it was
    assert len((tmp_path / "u.keys").read_text().splitlines()) == 2
