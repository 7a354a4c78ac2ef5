#!/usr/bin/env bash
# The front door. On a fresh Debian/Ubuntu machine, each command first sets up whatever is
# missing (system packages, .venv, kpanic: install.sh), then does its job; when everything is
# installed already it starts at once (install.sh runs again only when pyproject.toml or
# install.sh changed since the last successful install).
#
#   ./kpanic.sh demo [OPTIONS]   the service on http://127.0.0.1:8000 with example crashes
#                                (options go to 'kpanic demo', e.g. --port 8080)
#   ./kpanic.sh test [ARGS]      the whole test suite (arguments go to pytest)
#   ./kpanic.sh install          run install.sh now, whatever the state
#   ./kpanic.sh kpanic ARGS      any kpanic command, e.g. ./kpanic.sh kpanic parse dmesg.txt
set -euo pipefail
cd "$(dirname "$0")"

INSTALL_SH="${KPANIC_INSTALL_SH:-./install.sh}"
STAMP="${KPANIC_INSTALL_STAMP:-.venv/.kpanic-installed}"

usage() {
    sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
}

fingerprint() {
    cat pyproject.toml "$INSTALL_SH" | sha256sum | cut -d' ' -f1
}

installed() {
    [ -x .venv/bin/kpanic ] && [ -x .venv/bin/python ] && [ -f "$STAMP" ] &&
        [ "$(cat "$STAMP")" = "$(fingerprint)" ]
}

install() {
    echo "kpanic.sh: setting up (system packages, .venv, kpanic): $INSTALL_SH" >&2
    bash "$INSTALL_SH"
    mkdir -p "$(dirname "$STAMP")"
    fingerprint >"$STAMP"
}

ensure_installed() {
    installed || install
}

# The service tests run against PostgreSQL on 127.0.0.1:5432 when it is there; start the local
# cluster if it is installed but down. With KPANIC_REQUIRE_POSTGRES=1 (CI) it must be up.
ensure_postgres() {
    command -v pg_isready >/dev/null 2>&1 || {
        [ "${KPANIC_REQUIRE_POSTGRES:-0}" != "1" ] && return 0
        echo "kpanic.sh: PostgreSQL is required and not installed" >&2
        exit 1
    }
    pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null && return 0
    if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
        echo "kpanic.sh: PostgreSQL is not running; starting it" >&2
        pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start \
            >/dev/null 2>&1 || true
        for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && return 0; sleep 1; done
    fi
    if [ "${KPANIC_REQUIRE_POSTGRES:-0}" = "1" ]; then
        echo "kpanic.sh: PostgreSQL is required and could not be started" >&2
        exit 1
    fi
    echo "kpanic.sh: PostgreSQL is not running; its tests will skip with the reason" >&2
}

cmd="${1:-help}"
[ $# -gt 0 ] && shift
case "$cmd" in
    demo)
        ensure_installed
        exec .venv/bin/kpanic demo "$@"
        ;;
    test)
        ensure_installed
        ensure_postgres
        exec .venv/bin/python -m pytest "$@"
        ;;
    install)
        install
        ;;
    kpanic)
        ensure_installed
        exec .venv/bin/kpanic "$@"
        ;;
    help | -h | --help)
        usage
        ;;
    *)
        echo "kpanic.sh: unknown command '$cmd'" >&2
        usage >&2
        exit 2
        ;;
esac
