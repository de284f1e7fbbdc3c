#!/usr/bin/env bash
# Run the whole Chairside test suite: lint, then pytest (unit, integration, GUI
# offscreen, end to end), the cloud's tests on SQLite and on a real PostgreSQL.
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

[ -x .venv/bin/python ] && [ -f .venv/.chairside-installed ] || bash scripts/setup.sh

export QT_QPA_PLATFORM=offscreen
export PYTHONDONTWRITEBYTECODE=1
if [ -z "${CHAIRSIDE_TEST_PG_URL:-}" ]; then
    if url="$(bash scripts/postgres.sh)"; then
        export CHAIRSIDE_TEST_PG_URL="$url"
    elif [ "${CI:-}" = true ]; then
        echo "test: PostgreSQL could not be started, and CI must run its tests" >&2
        exit 1
    else
        echo "test: PostgreSQL could not be started; its tests will be skipped" >&2
    fi
fi

.venv/bin/ruff check .
# Which part may import which (.importlinter): a new import across a layer fails here.
PYTHONPATH=. .venv/bin/lint-imports --no-cache --no-logo
# Types ([tool.mypy] in pyproject.toml: strict below the screens); a type error fails here.
.venv/bin/mypy
# Two worker processes (CHAIRSIDE_TEST_WORKERS=0: one, in this process), each given whole
# test files, so that a module's fixtures and its servers stay in one process.
.venv/bin/python -m pytest -q -p no:cacheprovider -n "${CHAIRSIDE_TEST_WORKERS:-2}" \
    --dist loadfile "$@"
