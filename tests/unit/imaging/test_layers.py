"""The imaging layer and the agent's acquisition never load Qt; imaging needs no store."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_imaging_and_acquisition_never_load_qt() -> None:
    code = (
        "import sys, app.imaging.thumbnails, app.imaging.acquisition, app.imaging.importer, "
        "app.store.images.images_repo, app.store.images.acquisition_repo, "
        "sync_agent.acquisition_job; "
        "sys.exit('PySide6' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT, timeout=60).returncode == 0


def test_imaging_imports_neither_store_nor_ui() -> None:
    for path in (ROOT / "app" / "imaging").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            for name in names:
                assert not name.startswith(("app.store", "app.ui", "PySide6", "sync_agent")), (
                    f"{path.name} imports {name}")
