"""`python main.py` as a new user starts it: a real X server (Xvfb) with a window manager
(openbox), a fresh home folder, no secure keyring, keys pressed with xdotool.

First start: Enter accepts the key-file question; the app must still run and show its
welcome dialog. Second start: the welcome dialog again (no administrator yet); the user
fills it in and presses Enter; the app must still run and show its main window.
A crash or an early exit fails.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ("Xvfb", "openbox", "xdotool")
WAIT_S = 20.0


@pytest.fixture
def display(tmp_path: Path) -> Iterator[str]:
    missing = [t for t in TOOLS if shutil.which(t) is None]
    assert not missing, f"{missing} not installed: run scripts/setup.sh"
    read_fd, write_fd = os.pipe()
    server = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    with os.fdopen(read_fd) as f:
        name = ":" + f.readline().strip()
    wm = subprocess.Popen(
        ["openbox"],
        env=dict(os.environ, DISPLAY=name, HOME=str(tmp_path)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield name
    finally:
        for proc in (wm, server):
            proc.terminate()
            proc.wait(timeout=10)


def _xdotool(display: str, *args: str, timeout: float = WAIT_S) -> str:
    result = subprocess.run(
        ["xdotool", *args],
        env=dict(os.environ, DISPLAY=display),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return result.stdout.strip()


def _mapped(display: str, title: str, app: subprocess.Popen[str]) -> str:
    """The id of a mapped window with this title; fails as soon as the app has exited."""
    def found() -> str:
        assert app.poll() is None, f"the app exited ({app.returncode}) before {title!r} showed"
        return _xdotool(display, "search", "--onlyvisible", "--name", f"^{title}$")

    try:
        return wait_until(found, WAIT_S, message=f"a window {title!r}", step=0.2).splitlines()[0]
    except AssertionError as exc:
        if app.poll() is not None:
            raise
        shown = [
            _xdotool(display, "getwindowname", w)
            for w in _xdotool(display, "search", "--onlyvisible", "--name", ".").splitlines()
        ]
        raise AssertionError(f"{exc}; shown: {shown}") from None


def _start(display: str, home: Path) -> subprocess.Popen[str]:
    env = dict(
        os.environ,
        DISPLAY=display,
        HOME=str(home),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        XDG_CONFIG_HOME=str(home / ".config"),
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
        QT_QPA_PLATFORM="xcb",
        PYTHONPATH=str(ROOT),
    )
    for name in ("CHAIRSIDE_DATA_DIR", "CHAIRSIDE_CONFIG_DIR"):
        env.pop(name, None)
    return subprocess.Popen(
        [sys.executable, "main.py"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _type_into(display: str, window: str, *keys: str) -> None:
    """Focus the window, then type: each item is text, or a key name after '+'."""
    deadline = time.monotonic() + WAIT_S
    while _xdotool(display, "getwindowfocus") != window and time.monotonic() < deadline:
        time.sleep(0.1)  # keys typed before the window has the focus go elsewhere
    for key in keys:
        if key.startswith("+"):
            _xdotool(display, "key", "--clearmodifiers", key[1:])
        else:
            _xdotool(display, "type", "--delay", "15", key)


def _stop_agent(home: Path) -> None:
    """The app starts the sync agent, detached; it writes its pid into its lock file."""
    locks = wait_until(
        lambda: [p for p in home.rglob("*.agent-lock") if p.read_text().strip()], WAIT_S,
        message="the app to start the sync agent", step=0.2)
    for lock in locks:
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(lock.read_text()), signal.SIGTERM)


def _stop(app: subprocess.Popen[str]) -> str:
    alive = app.poll() is None
    app.terminate()
    out, _ = app.communicate(timeout=20)
    assert alive, f"the app exited ({app.returncode}):\n{out[-2000:]}"
    return out


def test_main_py_on_a_real_x_server_survives_its_first_and_second_start(
    display: str, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()

    app = _start(display, home)
    try:
        question = _mapped(display, "No secure keyring", app)
        _type_into(display, question, "+Return")
        _mapped(display, "Welcome to Chairside", app)
    finally:
        out = _stop(app)
    assert "Traceback" not in out, out

    app = _start(display, home)
    try:
        welcome = _mapped(display, "Welcome to Chairside", app)
        _type_into(
            display, welcome,
            "Smile Clinic", "+Tab", "Dr Sara Haddad", "+Tab", "+Tab",
            "a long password", "+Tab", "a long password", "+Return",
        )
        _mapped(display, "Chairside — Smile Clinic", app)
    finally:
        try:
            _stop_agent(home)
        finally:
            out = _stop(app)
    assert "Traceback" not in out, out
