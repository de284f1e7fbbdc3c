"""The agent's service registration: files generated right for each system."""

from __future__ import annotations

import plistlib
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from sync_agent import service

ODD = Path('/srv/Clinic "Main" 100%/practice.chairside')


def test_systemd_unit_runs_the_agent_for_this_database() -> None:
    unit = service.systemd_unit(ODD, Path("/opt/chairside"))
    exec_line = next(line for line in unit.splitlines() if line.startswith("ExecStart="))
    assert '"--database"' in exec_line
    assert '\\"Main\\" 100%%' in exec_line  # quotes escaped, % doubled for systemd
    assert "Restart=on-failure" in unit and "WantedBy=default.target" in unit


def test_launchd_plist_is_valid_and_keeps_the_agent_alive() -> None:
    data = plistlib.loads(service.launchd_plist(ODD, Path("/Applications/Chairside")).encode())
    assert data["ProgramArguments"][-2:] == ["--database", str(ODD.resolve())]
    assert data["RunAtLoad"] is True
    assert data["Label"].startswith("org.chairside.agent.chairside-agent-")


def test_windows_task_is_valid_xml_started_at_logon() -> None:
    xml = service.windows_task_xml(ODD, Path("C:/Chairside"))
    root = ET.fromstring(xml.replace('encoding="UTF-16"', ""))
    ns = {"t": "http://schemas.microsoft.com/windows/2004/02/mit/task"}
    assert root.find("t:Triggers/t:LogonTrigger", ns) is not None
    args = root.find("t:Actions/t:Exec/t:Arguments", ns).text
    assert "--database" in args and "Clinic" in args


def test_each_database_has_its_own_unit(tmp_path: Path) -> None:
    a = service.unit_name(tmp_path / "a.chairside")
    b = service.unit_name(tmp_path / "b.chairside")
    assert a != b and a.startswith("chairside-agent-")


def test_install_and_uninstall_on_linux(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    db = tmp_path / "clinic.chairside"
    result = subprocess.run(
        [sys.executable, "-m", "sync_agent", "--database", str(db), "install-service"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert result.returncode == 0, result.stderr
    unit = tmp_path / "cfg" / "systemd" / "user" / f"{service.unit_name(db)}.service"
    assert unit.exists()
    if shutil.which("systemctl") and "now starts with your session" in result.stdout:
        pass  # a real user systemd took it
    else:
        assert "systemctl --user enable --now" in result.stdout
    result = subprocess.run(
        [sys.executable, "-m", "sync_agent", "--database", str(db), "uninstall-service"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert result.returncode == 0 and not unit.exists()
