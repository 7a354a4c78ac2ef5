#!/usr/bin/env sh
# Install the crashed machine's side of kpanic: the systemd unit and timer, and the example
# configuration (kept if one exists). Run as root from a checkout or an unpacked release:
#   sudo deploy/client/install.sh            (then edit /etc/kpanic/client.toml)
# Distribution packages ship the same files under /usr/lib/systemd/system and /etc/kpanic.
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
unitdir="${UNITDIR:-/etc/systemd/system}"
confdir="${CONFDIR:-/etc/kpanic}"
kpanic="${KPANIC:-$(command -v kpanic || echo /usr/bin/kpanic)}"

install -d -m 0755 "$unitdir" "$confdir"
sed "s|^ExecStart=/usr/bin/kpanic |ExecStart=$kpanic |" "$here/kpanic-collect.service" \
    >"$unitdir/kpanic-collect.service"
chmod 0644 "$unitdir/kpanic-collect.service"
install -m 0644 "$here/kpanic-collect.timer" "$unitdir/kpanic-collect.timer"
if [ ! -e "$confdir/client.toml" ]; then
    install -m 0644 "$here/client.toml" "$confdir/client.toml"
    echo "installed $confdir/client.toml: set server (and send = true to send without asking)"
fi
if [ -z "${UNITDIR:-}" ] && command -v systemctl >/dev/null 2>&1; then
    systemctl daemon-reload
    systemctl enable --now kpanic-collect.timer
    echo "enabled kpanic-collect.timer; run it now with: systemctl start kpanic-collect.service"
fi
