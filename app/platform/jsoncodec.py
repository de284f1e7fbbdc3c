"""JSON text for database columns and request bodies, shared by the desktop store, the
agent and the cloud.

orjson is several times faster than the standard library (a push writes a few JSON
values per mutation; a pulled page holds thousands). What orjson refuses — keys that
are not text, integers beyond 64 bits, NaN and Infinity — goes to the standard
library, so nothing accepted before is refused now.
"""

from __future__ import annotations

import json
from typing import Any

import orjson


def dumps(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value)


def loads(text: str | bytes) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)
