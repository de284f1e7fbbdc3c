#!/usr/bin/env bash
# Install everything Chairside needs on Debian 12 (Python 3.11): the system packages
# (Qt's xcb platform libraries, PostgreSQL, Chromium, 7-Zip, Node.js for the tus
# client and portal accessibility tests) and a virtualenv in .venv with the project and its dev tools.
# Idempotent. System packages need root (or sudo); without either they are skipped
# with a warning.
set -euo pipefail
cd "$(dirname "$0")/.."

SYSTEM_PACKAGES=(
    python3-venv python3-dev build-essential
    libegl1 libgl1 libfontconfig1 libfreetype6 libdbus-1-3 libglib2.0-0 libxkbcommon0
    libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1
    libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-xkb1
    libxcb-xfixes0 libxrender1 libx11-xcb1 fonts-dejavu-core
    postgresql p7zip-full chromium chromium-driver xvfb openbox xdotool
)
# Node.js runs the standard tus-js-client in the tests, and npm fetches axe-core for the
# portal's accessibility test (both pinned, installed by the tests into
# ~/.cache/chairside-tests on first use); a machine that already has its
# own Node.js (with npm bundled) must not get Debian's npm, which conflicts with it.
command -v npm >/dev/null 2>&1 || SYSTEM_PACKAGES+=(nodejs npm)

log() { echo "setup: $*" >&2; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"
    elif command -v sudo >/dev/null 2>&1; then sudo "$@"
    else return 1
    fi
}

missing=()
for pkg in "${SYSTEM_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    if command -v apt-get >/dev/null 2>&1; then
        log "installing system packages: ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        if ! { as_root apt-get update -qq && as_root apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >&2 </dev/null; then
            log "WARNING: could not install system packages (need root or sudo): ${missing[*]}"
        fi
    else
        log "WARNING: not a Debian system; install the Qt xcb libraries yourself"
    fi
fi

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    log "creating .venv"
    "$PYTHON" -m venv .venv
fi
stamp=".venv/.chairside-installed"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    log "installing Python packages"
    .venv/bin/python -m pip install -q --upgrade pip >&2
    # Everything: the desktop and cloud groups and the test tools (a clinic PC alone
    # takes '.[desktop]', a server '.[cloud]').
    .venv/bin/python -m pip install -q -e '.[dev]' >&2
    touch "$stamp"
fi
log "ready: .venv/bin/python main.py starts the app"
