"""Crash texts and loopback receivers shared by the triage web tests."""

from __future__ import annotations

import re
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "report" / "fixtures"
MAINTAINERS = ROOT / "data" / "maintainers" / "MAINTAINERS"
_E1000_RELEASE = re.compile(r"6\.1\.0-rc1-g5fc95830739f-dirty")
_MAC80211_RELEASE = re.compile(r"6\.18\.14\+")


def log_of(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8").split("\n\n", 1)[1]


def rust_panic_on(release: str) -> str:
    """The Rust e1000 panic (owned by RUST through its K: pattern) as if from ``release``."""
    return _E1000_RELEASE.sub(release, log_of("rust-e1000-arm64-unwrap.txt"))


def kasan_on(release: str, n: int = 0) -> str:
    """The mac80211 KASAN report as if from another release (another report, same crash)."""
    text = _MAC80211_RELEASE.sub(release, log_of("mac80211-kasan-uaf-console.txt"))
    return text.replace("wpa_supplicant", f"wpa_supplicant{n}") if n else text


class Receiver:
    """A webhook receiver on loopback that keeps every POST (headers, body)."""

    def __init__(self) -> None:
        got: list[tuple[dict[str, str], bytes]] = []
        self.got = got

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                got.append((dict(self.headers), body))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"thanks")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Inbox:
    """An SMTP server (aiosmtpd) on loopback that keeps every mail."""

    def __init__(self) -> None:
        self.mails: list[bytes] = []
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        self.mails.append(envelope.content)
        return "250 OK"

    def close(self) -> None:
        self.controller.stop()
