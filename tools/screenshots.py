"""A screenshot set of every kpanic page at phone and desktop sizes, in one command.

    .venv/bin/python tools/screenshots.py --out shots/

Starts ``kpanic serve --demo`` on a free loopback port with a throw-away database, logs in as
the demo admin, takes a full-page screenshot of every page at 390x844 (phone) and 1280x800
(desktop) with headless Chromium (Playwright, ``/usr/bin/chromium``), then stops the server.
Each file is ``<size>-<page>.png``; ``widths.txt`` lists each page's rendered width, and the
exit status is 1 when a page is wider than the screen it was drawn on.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VECTORS = ROOT / "tests" / "data" / "drm-panic-qr"
CHROMIUM = "/usr/bin/chromium"
SIZES = {"phone": (390, 844), "desktop": (1280, 800)}
TOKEN_LINE = re.compile(r"demo admin token \(log in at /admin/login\): (\S+)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.loads(resp.read())


@contextmanager
def demo_server(workdir: Path) -> Iterator[tuple[str, str]]:
    """``kpanic serve --demo`` on a free port; yields (base URL, admin token)."""
    port = free_port()
    log_path = workdir / "server.log"
    kpanic = Path(sys.executable).with_name("kpanic")
    cmd = [str(kpanic)] if kpanic.exists() else [sys.executable, "-m", "kpanic"]
    env = {**os.environ, "KPANIC_DATA_DIR": str(workdir), "KPANIC_RATE_LIMIT": "0"}
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [*cmd, "serve", "--demo", "--port", str(port), "--db", f"sqlite:///{workdir}/demo.db"],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=workdir,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while True:
            if proc.poll() is not None:
                raise SystemExit("kpanic serve --demo exited:\n" + log_path.read_text())
            try:
                with urllib.request.urlopen(url + "/healthz", timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit(
                        "the demo server did not start:\n" + log_path.read_text()
                    ) from None
                time.sleep(0.3)
        match = TOKEN_LINE.search(log_path.read_text(errors="replace"))
        yield url, match.group(1) if match else ""
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def panic_query() -> str:
    """The query of a real panic URL (kernel log, fido2 encoding) from the test vectors."""
    vectors = json.loads((VECTORS / "fido2-6.15.json").read_text())["vectors"]
    url = next(v["url"] for v in vectors if v["category"] == "kmsg" and v["url"])
    return url.split("?", 1)[1]


def pages(url: str) -> list[tuple[str, str, bool]]:
    """(name, address, needs admin) of every page, with ids taken from the demo data."""
    group = _get_json(url + "/api/v1/groups?per_page=1")["items"][0]["id"]
    report = _get_json(url + "/api/v1/reports?per_page=1")["items"][0]["id"]
    query = panic_query()
    return [
        ("groups", "/groups", False),
        ("group", f"/groups/{group}", False),
        ("reports", "/reports", False),
        ("report", f"/reports/{report}", False),
        ("stats", "/stats", False),
        ("submit", "/submit", False),
        ("preview", f"/report?{query}", False),
        ("fragment", f"/report#?{query}", False),
        ("docs", "/docs", False),
        ("login", "/admin/login", False),
        ("error", "/groups/999999999", False),
        ("admin", "/admin", True),
        ("group-admin", f"/groups/{group}", True),
        ("confirm", f"/admin/confirm?action=delete-report&id={report}", True),
    ]


def take(out: Path, url: str, token: str) -> list[str]:
    """Screenshot every page at every size; returns the lines of widths.txt."""
    from playwright.sync_api import sync_playwright

    lines = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, args=["--headless=new", "--no-sandbox", "--disable-gpu"]
        )
        try:
            for size, (width, height) in SIZES.items():
                context = browser.new_context(
                    viewport={"width": width, "height": height},
                    device_scale_factor=1,
                    is_mobile=size == "phone",
                    has_touch=size == "phone",
                )
                page = context.new_page()
                logged_in = False
                for name, path, admin in pages(url):
                    if admin and not logged_in:
                        if not token:
                            continue
                        page.goto(url + "/admin/login")
                        page.fill("input[name=token]", token)
                        with page.expect_navigation():
                            page.click("form.card button[type=submit]")
                        logged_in = True
                    page.goto(url + path)
                    if name == "fragment":
                        page.wait_for_selector("#fragment-decoded:not([hidden])", timeout=20_000)
                    page.wait_for_load_state("networkidle")
                    rendered = page.evaluate("document.documentElement.scrollWidth")
                    page.screenshot(path=str(out / f"{size}-{name}.png"), full_page=True)
                    flag = "" if rendered <= width else "  TOO WIDE"
                    lines.append(f"{size:8} {name:12} {rendered:5d} px of {width}{flag}")
                context.close()
        finally:
            browser.close()
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("shots"), help="folder for the PNGs (shots/)")
    ap.add_argument("--url", help="screenshot this running server instead of a demo server")
    ap.add_argument("--token", default="", help="admin token for --url")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.url:
        lines = take(args.out, args.url.rstrip("/"), args.token)
    else:
        with tempfile.TemporaryDirectory(prefix="kpanic-shots-") as tmp:
            print("starting kpanic serve --demo (filling the demo database)...", file=sys.stderr)
            with demo_server(Path(tmp)) as (url, token):
                lines = take(args.out, url, token)
    (args.out / "widths.txt").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"{len(lines)} screenshots in {args.out}/")
    return 1 if any("TOO WIDE" in line for line in lines) else 0


if __name__ == "__main__":
    sys.exit(main())
