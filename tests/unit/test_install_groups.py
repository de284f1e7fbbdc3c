"""Each program installs what it needs: the clinic PC's group (`.[desktop]`) does not
pull the server's libraries and the server's (`.[cloud]`) does not pull Qt.

Building throwaway virtualenvs is too slow for every run; instead, in a fresh
interpreter, every module of the other program's libraries (each group's requirements
and what they require in turn, as installed here) is made unimportable, and every module
of the program is imported."""

from __future__ import annotations

import importlib.metadata as md
import os
import subprocess
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]

PROBE = r"""
import importlib, pkgutil, sys

blocked = set(sys.argv[1].split(","))

class Blocked:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in blocked:
            raise ImportError(f"{name} is not installed with this program")
        return None

sys.meta_path.insert(0, Blocked())
failed = []
for package in sys.argv[2].split(","):
    importlib.import_module(package)
    for info in pkgutil.walk_packages(sys.modules[package].__path__, package + "."):
        if ".migrations.versions" in info.name:
            continue  # loaded by Alembic from their folder, not as modules
        try:
            importlib.import_module(info.name)
        except Exception as exc:
            failed.append(f"{info.name}: {exc}")
print("\n".join(failed))
sys.exit(1 if failed else 0)
"""


def _closure(requirements: list[str]) -> set[str]:
    """The distributions these requirements bring, transitively (as installed here)."""
    seen: set[str] = set()
    stack = [(Requirement(r), ()) for r in requirements]
    while stack:
        req, via_extras = stack.pop()
        if req.marker and not any(req.marker.evaluate({"extra": e}) for e in ("", *via_extras)):
            continue
        name = canonicalize_name(req.name)
        if name == "chairside":  # the project's own groups, named by another group
            stack += [(Requirement(r), ()) for e in req.extras
                      for r in PROJECT["optional-dependencies"][e]]
            continue
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = md.distribution(name).requires or []
        except md.PackageNotFoundError:
            continue
        stack += [(Requirement(r), tuple(req.extras)) for r in requires]
    return seen


def _modules(dists: set[str]) -> set[str]:
    return {module for module, owners in md.packages_distributions().items()
            if any(canonicalize_name(d) in dists for d in owners)}


def _only_in(group: str, other: str) -> set[str]:
    extras = PROJECT["optional-dependencies"]
    mine = _closure(PROJECT["dependencies"] + extras[group])
    return _modules(_closure(extras[other]) - mine)


def _probe(blocked: set[str], packages: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", PROBE, ",".join(sorted(blocked)), packages], cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"},
        capture_output=True, text=True, timeout=240)


def test_the_clinic_pc_runs_without_the_servers_libraries() -> None:
    blocked = _only_in("desktop", "cloud")
    assert {"fastapi", "uvicorn", "psycopg", "boto3", "starlette"} <= blocked
    result = _probe(blocked, "app,sync_agent")
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]


def test_the_server_runs_without_qt() -> None:
    blocked = _only_in("cloud", "desktop")
    assert {"PySide6", "sqlcipher3", "keyring"} <= blocked
    result = _probe(blocked, "cloud")
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
