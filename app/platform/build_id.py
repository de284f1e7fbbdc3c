"""Which build of Chairside is installed, for the app and its sync agent to compare.

The agent keeps running when the app closes. After an update the previous release's
agent would go on syncing with the old code, against a database the new release has
migrated, until the user logs out; the app asks an agent of another build to stop and
starts its own (app/ui/sync/agent_status.py).
"""

from __future__ import annotations

import functools
import hashlib
import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[2]
_PACKAGES = ("app", "sync_agent")


@functools.cache
def build_id() -> str:
    """Same for the app and the agent of one installation; changes with any update.

    Installed from source, the newest change among the two programs' modules; bundled,
    the executables beside each other (an update replaces both)."""
    if getattr(sys, "frozen", False):
        folder = Path(sys.executable).parent
        files = sorted(p for p in folder.glob("chairside*") if p.is_file())
    else:
        files = sorted(p for name in _PACKAGES for p in (_ROOT / name).rglob("*.py"))
    digest = hashlib.sha256()
    for path in files:
        try:
            st = path.stat()
        except OSError:
            continue  # removed while we looked: the next look sees the new build
        digest.update(f"{path.name}:{st.st_size}:{st.st_mtime_ns};".encode())
    return digest.hexdigest()[:16]
