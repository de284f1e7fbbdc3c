"""The portal's one clock (UTC); tests replace `now` to move time without sleeping."""

from __future__ import annotations

import datetime as dt

from cloud.models import utcnow


def now() -> dt.datetime:
    return utcnow()
