#!/usr/bin/env bash
# One command that installs everything kpanic needs on a fresh Debian/Ubuntu machine:
# system packages (binutils for symbolization, chromium for the browser tests, PostgreSQL
# client libraries), a virtual environment in .venv, and kpanic itself with its dev tools.
set -euo pipefail
cd "$(dirname "$0")"

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

if command -v apt-get >/dev/null 2>&1 && [ "${KPANIC_SKIP_APT:-0}" != "1" ]; then
    need=()
    for pkg in binutils gcc chromium; do
        dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
    done
    if [ "${#need[@]}" -gt 0 ]; then
        echo "install.sh: installing system packages: ${need[*]}"
        $SUDO apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
    fi
fi

PY="${PYTHON:-python3}"
"$PY" -c 'import sys; assert sys.version_info >= (3, 11), "kpanic needs Python 3.11+"'
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[dev]'
echo "install.sh: done. Start the demo: ./kpanic.sh demo   (or .venv/bin/kpanic serve --demo)"
