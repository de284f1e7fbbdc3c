"""Identifiers generated on the PC: UUID version 7 (RFC 9562) and node ids.

UUIDv7 puts a millisecond timestamp in the top 48 bits, so ids created on one PC sort
roughly by creation time and index well, while two PCs never collide.
"""

from __future__ import annotations

import os
import re
import secrets
import threading
import time
import uuid

_RAND_B = (1 << 62) - 1


class Uuid7Source:
    """UUIDv7s strictly increasing within this source, even when the clock stands still
    or steps back (then the last timestamp is kept and the random part counts up)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_ms = 0
        self._last_rand = 0

    def __call__(self, now_ms: int | None = None) -> uuid.UUID:
        return uuid.UUID(int=self.next_int(now_ms))

    def next_int(self, now_ms: int | None = None) -> int:
        """The next UUIDv7 as its 128-bit integer."""
        with self._lock:
            ms = time.time_ns() // 1_000_000 if now_ms is None else now_ms
            if ms <= self._last_ms:
                ms = self._last_ms
                rand = self._last_rand + 1
                if rand >= 1 << 74:
                    ms += 1
                    rand = secrets.randbits(74) >> 1
            else:
                rand = secrets.randbits(74) >> 1  # leave headroom for counting up
            self._last_ms, self._last_rand = ms, rand
        return self._compose(ms, rand)

    def reserve(self, count: int) -> int:
        """The first of `count` consecutive UUIDv7s (as integers: first, first + 1, ...),
        all taken from this source, so that SQL can write them by counting up."""
        with self._lock:
            ms = max(time.time_ns() // 1_000_000, self._last_ms)
            rand = self._last_rand + 1 if ms == self._last_ms else secrets.randbits(74) >> 1
            # Counting up must stay within the low 62 random bits (rand_b).
            if (rand & _RAND_B) + count > _RAND_B:
                rand = ((rand >> 62) + 1) << 62
            if rand + count >= 1 << 74:
                ms, rand = ms + 1, 0
            self._last_ms, self._last_rand = ms, rand + count - 1
        return self._compose(ms, rand)

    @staticmethod
    def _compose(ms: int, rand: int) -> int:
        rand_a = (rand >> 62) & 0xFFF
        rand_b = rand & ((1 << 62) - 1)
        value = (ms & ((1 << 48) - 1)) << 80
        value |= 0x7 << 76
        value |= rand_a << 64
        value |= 0b10 << 62
        value |= rand_b
        return value


uuid7 = Uuid7Source()


def new_id() -> str:
    """A new primary key as the 36-character text form used everywhere."""
    # Formatted here rather than through uuid.UUID: five times faster.
    h = f"{uuid7.next_int():032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def uuid7_time_ms(value: str | uuid.UUID) -> int:
    """The creation time (ms since the epoch) carried by a UUIDv7."""
    u = value if isinstance(value, uuid.UUID) else uuid.UUID(value)
    if u.version != 7:
        raise ValueError("not a version 7 UUID")
    return u.int >> 80


def new_node_id() -> str:
    """A random 64-bit node id (16 hex digits) naming one PC's replica."""
    return os.urandom(8).hex()


# The form every id takes here; checked first because a first upload checks hundreds
# of thousands. Other text uuid.UUID accepts (hyphens elsewhere) is still a UUID.
CANONICAL_UUID = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.ASCII | re.IGNORECASE
)


def is_uuid(value: object) -> bool:
    if not isinstance(value, str) or len(value) != 36:
        return False
    if CANONICAL_UUID.fullmatch(value):
        return True
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
