"""Start the agent with the user's session: a systemd user unit on Linux, a launchd
agent on macOS, a scheduled task on Windows.

The unit is named after the database, so each practice database has its own agent.
Where systemd is present the unit is installed and enabled; elsewhere (or without a
user session bus) the file is written and the command says how to enable it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

LABEL = "org.chairside.agent"


def unit_name(db_path: Path) -> str:
    digest = hashlib.sha256(str(db_path.resolve()).encode()).hexdigest()[:10]
    return f"chairside-agent-{digest}"


def agent_argv(db_path: Path) -> list[str]:
    if getattr(sys, "frozen", False):
        exe = Path(sys.executable).with_name(
            "chairside-agent.exe" if os.name == "nt" else "chairside-agent"
        )
        return [str(exe), "--database", str(db_path.resolve())]
    return [sys.executable, "-m", "sync_agent", "--database", str(db_path.resolve())]


def _quote_systemd(arg: str) -> str:
    return '"' + arg.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%") + '"'


def systemd_unit(db_path: Path, workdir: Path) -> str:
    cmd = " ".join(_quote_systemd(a) for a in agent_argv(db_path))
    return (
        "[Unit]\n"
        f"Description=Chairside sync agent for {db_path.name}\n"
        "After=network-online.target\n\n"
        "[Service]\n"
        f"ExecStart={cmd}\n"
        f"WorkingDirectory={_quote_systemd(str(workdir))}\n"
        "Restart=on-failure\n"
        "RestartSec=10\n"
        "KillSignal=SIGTERM\n"
        "TimeoutStopSec=60\n\n"
        "[Install]\n"
        "WantedBy=default.target\n"
    )


def launchd_plist(db_path: Path, workdir: Path) -> str:
    args = "".join(f"\n    <string>{escape(a)}</string>" for a in agent_argv(db_path))
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>Label</key>
  <string>{LABEL}.{unit_name(db_path)}</string>
  <key>ProgramArguments</key>
  <array>{args}
  </array>
  <key>WorkingDirectory</key>
  <string>{escape(str(workdir))}</string>
  <key>RunAtLoad</key>
  <true/>
  <key>KeepAlive</key>
  <dict><key>SuccessfulExit</key><false/></dict>
</dict>
</plist>
"""


def windows_task_xml(db_path: Path, workdir: Path) -> str:
    argv = agent_argv(db_path)
    arguments = " ".join(f'"{a}"' for a in argv[1:])
    about = f"Chairside sync agent for {escape(db_path.name)}"
    return f"""<?xml version="1.0" encoding="UTF-16"?>
<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">
  <RegistrationInfo><Description>{about}</Description></RegistrationInfo>
  <Triggers><LogonTrigger><Enabled>true</Enabled></LogonTrigger></Triggers>
  <Settings>
    <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>
    <DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>
    <StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>
    <ExecutionTimeLimit>PT0S</ExecutionTimeLimit>
    <RestartOnFailure><Interval>PT1M</Interval><Count>999</Count></RestartOnFailure>
  </Settings>
  <Actions Context="Author">
    <Exec>
      <Command>{escape(argv[0])}</Command>
      <Arguments>{escape(arguments)}</Arguments>
      <WorkingDirectory>{escape(str(workdir))}</WorkingDirectory>
    </Exec>
  </Actions>
</Task>
"""


@dataclass(frozen=True)
class Outcome:
    path: Path
    enabled: bool
    message: str


def _workdir() -> Path:
    return Path(__file__).resolve().parents[1]


def _systemd_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "systemd" / "user"


def _systemctl(*args: str) -> bool:
    if not shutil.which("systemctl"):
        return False
    try:
        done = subprocess.run(
            ["systemctl", "--user", *args], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def install(db_path: Path, platform: str = sys.platform) -> Outcome:
    name = unit_name(db_path)
    if platform.startswith("linux"):
        path = _systemd_dir() / f"{name}.service"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(systemd_unit(db_path, _workdir()))
        if _systemctl("daemon-reload") and _systemctl("enable", "--now", f"{name}.service"):
            return Outcome(path, True, f"The sync agent now starts with your session ({name}).")
        return Outcome(
            path,
            False,
            f"Unit written to {path}. Enable it with: systemctl --user enable --now {name}.service",
        )
    if platform == "darwin":
        path = Path.home() / "Library" / "LaunchAgents" / f"{LABEL}.{name}.plist"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(launchd_plist(db_path, _workdir()))
        ok = (
            subprocess.run(
                ["launchctl", "load", "-w", str(path)], capture_output=True, check=False
            ).returncode
            == 0
            if shutil.which("launchctl")
            else False
        )
        return Outcome(
            path,
            ok,
            f"Launch agent written to {path}."
            + ("" if ok else f" Load it with: launchctl load -w {path}"),
        )
    path = db_path.resolve().parent / f"{name}.task.xml"
    path.write_text(windows_task_xml(db_path, _workdir()), encoding="utf-16")
    ok = False
    if shutil.which("schtasks"):
        ok = (
            subprocess.run(
                ["schtasks", "/Create", "/TN", f"Chairside\\{name}", "/XML", str(path), "/F"],
                capture_output=True,
                check=False,
            ).returncode
            == 0
        )
    return Outcome(
        path,
        ok,
        f"Task written to {path}."
        + (
            ""
            if ok
            else (f' Register it with: schtasks /Create /TN "Chairside\\{name}" /XML "{path}"')
        ),
    )


def uninstall(db_path: Path, platform: str = sys.platform) -> Outcome:
    name = unit_name(db_path)
    if platform.startswith("linux"):
        path = _systemd_dir() / f"{name}.service"
        disabled = _systemctl("disable", "--now", f"{name}.service")
        path.unlink(missing_ok=True)
        _systemctl("daemon-reload")
        return Outcome(path, disabled, "The sync agent no longer starts with your session.")
    if platform == "darwin":
        path = Path.home() / "Library" / "LaunchAgents" / f"{LABEL}.{name}.plist"
        if shutil.which("launchctl"):
            subprocess.run(
                ["launchctl", "unload", "-w", str(path)], capture_output=True, check=False
            )
        path.unlink(missing_ok=True)
        return Outcome(path, True, "The launch agent was removed.")
    path = db_path.resolve().parent / f"{name}.task.xml"
    if shutil.which("schtasks"):
        subprocess.run(
            ["schtasks", "/Delete", "/TN", f"Chairside\\{name}", "/F"],
            capture_output=True,
            check=False,
        )
    path.unlink(missing_ok=True)
    return Outcome(path, True, "The scheduled task was removed.")


def main(command: str, db_path: Path) -> int:
    outcome = install(db_path) if command == "install-service" else uninstall(db_path)
    print(outcome.message)
    return 0
