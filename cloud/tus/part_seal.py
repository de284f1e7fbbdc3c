"""The tails of uploads in progress, encrypted as they are written.

A copied disk of the cloud must reveal no image, not even one still arriving. Whole
64 KiB segments of an upload are sealed at once in the blob store's format
(cloud.tus.segments); the bytes after them, until their segment is whole, wait in a
tail file that may be cut back (a chunk refused) and appended to, so its bytes are
encrypted length-preserving: AES-256 in CTR mode, the counter being the byte's position
in the upload. The integrity of what arrives is the upload's whole-file SHA-256, checked
before anything is stored.

A keystream must never encrypt two different plaintexts, and a position is written
again after its bytes were cut off; so every write that starts at a position takes a
fresh random key from that position on. The keys are kept beside the part in
`<id>.keys`, one line per key: its first position and the key wrapped with the
server's master key (AES key wrap, RFC 3394).
"""

from __future__ import annotations

import bisect
import os
import secrets
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.keywrap import aes_key_unwrap, aes_key_wrap

from cloud.blob_key import blob_key
from cloud.config import Settings

BLOCK = 16


_masters: dict[tuple[str, str], bytes] = {}


def master_key(settings: Settings) -> bytes:
    """The key that wraps the part keys: the server's blob master key."""
    which = (settings.blob_key, str(settings.data_dir))
    if which not in _masters:
        _masters[which] = blob_key(settings)
    return _masters[which]


def keys_path(folder: Path, upload_id: str) -> Path:
    return folder / f"{upload_id}.keys"


class PartSeal:
    """The keys of one upload's part file (call under the part's lock)."""

    def __init__(self, folder: Path, upload_id: str, master: bytes) -> None:
        self.path = keys_path(folder, upload_id)
        self.master = master
        self.starts: list[int] = []
        self.keys: list[bytes] = []
        self._next: tuple[int, int, Any] = (-1, -1, None)  # (key, position, keystream)
        try:
            lines = self.path.read_text().split()
        except FileNotFoundError:
            lines = []
        for start, wrapped in zip(lines[::2], lines[1::2], strict=True):
            self.starts.append(int(start))
            self.keys.append(aes_key_unwrap(master, bytes.fromhex(wrapped)))

    def begin(self, start: int) -> None:
        """A write starts at `start`: a fresh key from there on, written durably before
        any byte it encrypts (the keys of cut-off positions are dropped)."""
        at = bisect.bisect_left(self.starts, start)
        self.starts[at:], self.keys[at:] = [start], [secrets.token_bytes(32)]
        self._next = (-1, -1, None)
        text = "".join(f"{s} {aes_key_wrap(self.master, k).hex()}\n"
                       for s, k in zip(self.starts, self.keys, strict=True))
        tmp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, text.encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.path)

    def crypt(self, data: bytes | memoryview, position: int) -> bytes:
        """`data` at `position` of the file, encrypted or decrypted (the same in CTR)."""
        out = bytearray()
        view = memoryview(data)
        while view:
            i = bisect.bisect_right(self.starts, position) - 1
            if i < 0:
                raise ValueError("no key covers this part of the upload")
            end = self.starts[i + 1] if i + 1 < len(self.starts) else None
            n = len(view) if end is None else min(len(view), end - position)
            ctr = self._ctr(i, position)
            piece: bytes = ctr.update(view[:n])
            self._next = (i, position + n, ctr)
            if not out and n == len(view):
                return piece  # one key covers it all: no copy
            out += piece
            view, position = view[n:], position + n
        return bytes(out)

    def _ctr(self, i: int, position: int) -> Any:
        """The keystream of key `i` from `position`: the one in hand when the bytes
        follow the last ones (a body arrives in many small pieces, and setting up a
        cipher costs more than encrypting a few KB)."""
        index, at, ctr = self._next
        if index == i and at == position:
            return ctr
        counter = (position // BLOCK).to_bytes(16, "big")
        ctr = Cipher(algorithms.AES(self.keys[i]), modes.CTR(counter)).encryptor()
        if position % BLOCK:
            ctr.update(bytes(position % BLOCK))
        return ctr
