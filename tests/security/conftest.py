"""The security regression suite runs on the cloud tests' fixtures: an in-process cloud
per test (both backends), a seeded clinic, browsers from chosen addresses, a movable
clock and cheap password hashes; and the desktop's main window for what it shows."""

from __future__ import annotations

from tests.gui.conftest import ctx, window
from tests.unit.cloud.conftest import client, db_url, pc, practice, settings, stranger
from tests.unit.cloud.portal.conftest import _cheap_hashes, browser, clinic, fake_clock

__all__ = ["_cheap_hashes", "browser", "client", "clinic", "ctx", "db_url", "fake_clock",
           "pc", "practice", "settings", "stranger", "window"]
