"""Entry point of the bundled sync agent (chairside-agent): `python -m sync_agent`."""

from __future__ import annotations

import sys

from sync_agent.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
