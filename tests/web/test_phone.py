"""Every page at phone size (390x844) and desktop size (1280x800) in a real Chromium.

People arrive from the QR code on a panic screen with a phone: no page may be wider than the
screen (the document never scrolls sideways), every navigation link must be on screen and
readable, and text must meet WCAG AA contrast (4.5:1, 3:1 for large text), computed in the page
from the computed styles of the main text elements and links.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.web.conftest import LiveServer, demo_log, kmsg_urls, screenshot, start_server

pytestmark = pytest.mark.browser

SIZES = {"phone": (390, 844), "desktop": (1280, 800)}

# Computed in the page: the contrast of every visible text element against the background it is
# drawn on. The background is found by walking up the ancestors and compositing their background
# colours, counting an ancestor only if the element lies inside its box (text that spills out of
# a dark header sits on whatever is behind it: the white-on-white navigation bug).
CONTRAST_JS = r"""
(selector) => {
  const parse = (c) => {
    const m = c.match(/rgba?\(([^)]+)\)/);
    if (!m) return [0, 0, 0, 0];
    const p = m[1].split(/[ ,\/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  };
  const over = (top, under) => {
    const a = top[3] + under[3] * (1 - top[3]);
    if (a === 0) return [0, 0, 0, 0];
    const ch = (i) => (top[i] * top[3] + under[i] * under[3] * (1 - top[3])) / a;
    return [ch(0), ch(1), ch(2), a];
  };
  const lum = (c) => {
    const f = (v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    };
    return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]);
  };
  const inside = (r, box) => r.left >= box.left - 1 && r.right <= box.right + 1 &&
    r.top >= box.top - 1 && r.bottom <= box.bottom + 1;
  const background = (el) => {
    const r = el.getBoundingClientRect();
    const layers = [];
    for (let n = el; n && n.nodeType === 1; n = n.parentElement) {
      const bg = parse(getComputedStyle(n).backgroundColor);
      if (bg[3] > 0 && (n === el || inside(r, n.getBoundingClientRect()))) layers.push(bg);
      if (bg[3] >= 1 && (n === el || inside(r, n.getBoundingClientRect()))) break;
    }
    let c = [255, 255, 255, 1];  // the canvas
    for (let i = layers.length - 1; i >= 0; i--) c = over(layers[i], c);
    return c;
  };
  const ownText = (el) => Array.from(el.childNodes).some(
    (n) => n.nodeType === 3 && n.textContent.trim().length > 0);
  const out = [];
  for (const el of document.querySelectorAll(selector)) {
    if (el.closest("svg, [hidden], pre.log, noscript") || el.disabled || !ownText(el)) continue;
    const r = el.getBoundingClientRect();
    const st = getComputedStyle(el);
    if (r.width === 0 || r.height === 0 || st.visibility === "hidden") continue;
    let opacity = 1;
    for (let n = el; n && n.nodeType === 1; n = n.parentElement) {
      opacity *= Number(getComputedStyle(n).opacity);
    }
    const bg = background(el);
    const fgRaw = parse(st.color);
    const fg = over([fgRaw[0], fgRaw[1], fgRaw[2], fgRaw[3] * opacity], bg);
    const l1 = lum(fg), l2 = lum(bg);
    const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
    const size = parseFloat(st.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(st.fontWeight) >= 700);
    out.push({
      tag: el.tagName.toLowerCase() + "." + String(el.className).trim().replace(/\s+/g, "."),
      text: el.textContent.trim().slice(0, 40),
      ratio: Math.round(ratio * 100) / 100,
      need: large ? 3 : 4.5,
    });
  }
  return out;
}
"""
TEXT = "p, li, td, th, dt, dd, a, h1, h2, h3, label, span, code, strong, button, div, small"

NAV_JS = r"""
() => Array.from(document.querySelectorAll("header.top nav a, header.top .who a")).map((a) => {
  const r = a.getBoundingClientRect();
  const header = a.closest("header").getBoundingClientRect();
  return {
    text: a.textContent.trim(),
    left: r.left, right: r.right, top: r.top, bottom: r.bottom, width: r.width, height: r.height,
    inHeader: r.top >= header.top - 1 && r.bottom <= header.bottom + 1,
    visible: getComputedStyle(a).visibility !== "hidden" && r.width > 0 && r.height > 0,
  };
})
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, dict[str, str]]]:
    """A live server with a few crashes (C and Rust) and an admin token; the page addresses."""
    from kpanic.store.repository import Repository

    tmp = tmp_path_factory.mktemp("phone")
    server = start_server(f"sqlite:///{tmp / 'live.db'}", tmp / "server.log")
    try:
        ids = []
        for n in (428, 748, 130):
            r = httpx.post(
                server.url + "/api/v1/reports?wait=10", json={"log": demo_log(n)}, timeout=30
            )
            assert r.status_code == 201, r.text
            ids.append(r.json())
        with Repository(server.db_url) as repo:
            token = repo.create_token("phone-admin").token
        query = kmsg_urls("fido2")[0]["url"].split("?", 1)[1]
        pages = {
            "groups": "/groups",
            "group": f"/groups/{ids[0]['group_id']}",
            "reports": "/reports",
            "report": f"/reports/{ids[0]['id']}",
            "stats": "/stats",
            "submit": "/submit",
            "preview": f"/report?{query}",
            "fragment": f"/report#?{query}",
            "docs": "/docs",
            "login": "/admin/login",
            "error": "/groups/999999999",
            "admin": "/admin",
        }
        yield server, {"token": token, **pages}
    finally:
        server.stop()


def _log_in(page, server: LiveServer, token: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(server.url + "/admin/login")
    page.fill("input[name=token]", token)
    with page.expect_navigation():
        page.click("form.card button[type=submit]")


PAGES = [
    "groups",
    "group",
    "reports",
    "report",
    "stats",
    "submit",
    "preview",
    "fragment",
    "docs",
    "login",
    "error",
    "admin",
]


def check_page(page, name: str, width: int) -> list[str]:  # type: ignore[no-untyped-def]
    """What is wrong with the page on screen (empty when nothing is)."""
    problems = []
    scroll = page.evaluate("document.documentElement.scrollWidth")
    if scroll > width:
        problems.append(f"{name}: the page is {scroll} px wide on a {width} px screen")
    for link in page.evaluate(NAV_JS):
        if not link["visible"] or link["left"] < 0 or link["right"] > width:
            problems.append(f"{name}: nav link {link['text']!r} is off screen: {link}")
        elif not link["inHeader"]:
            problems.append(f"{name}: nav link {link['text']!r} spills out of the header")
    for item in page.evaluate(CONTRAST_JS, TEXT):
        if item["ratio"] < item["need"]:
            problems.append(f"{name}: contrast {item['ratio']} < {item['need']}: {item}")
    return problems


@pytest.mark.parametrize("size", list(SIZES))
def test_every_page_fits_the_screen_with_readable_text_and_nav(browser, site, size) -> None:  # type: ignore[no-untyped-def]
    server, pages = site
    width, height = SIZES[size]
    context = browser.new_context(
        viewport={"width": width, "height": height}, is_mobile=size == "phone"
    )
    page = context.new_page()
    problems: list[str] = []
    checked = 0
    try:
        for name in PAGES:
            if name == "admin":
                _log_in(page, server, pages["token"])
            response = page.goto(server.url + pages[name])
            if name == "fragment":
                page.wait_for_selector("#fragment-decoded:not([hidden])", timeout=20_000)
            assert response is not None
            assert response.status == (404 if name == "error" else 200), name
            nav = page.evaluate(NAV_JS)
            assert {a["text"] for a in nav} >= {"Crashes", "Reports", "Statistics", "Submit", "API"}
            problems += check_page(page, name, width)
            screenshot(page, f"phone-test-{size}-{name}")
            checked += 1
        # the logged-in group page carries the admin controls (wider forms)
        page.goto(server.url + pages["group"])
        problems += check_page(page, "group (admin)", width)
    finally:
        context.close()
    assert checked == len(PAGES)
    assert not problems, "\n".join(problems)


def test_narrowest_phone_360(browser, site) -> None:  # type: ignore[no-untyped-def]
    server, pages = site
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True)
    page = context.new_page()
    try:
        problems: list[str] = []
        for name in ("groups", "group", "reports", "report", "stats", "preview"):
            page.goto(server.url + pages[name])
            problems += check_page(page, name, 360)
        assert not problems, "\n".join(problems)
    finally:
        context.close()


def test_the_checks_catch_the_old_layout(browser, site) -> None:  # type: ignore[no-untyped-def]
    """The checks above can fail: the pre-fix rules (fixed-height header, 520 px chart
    columns, unbreakable kernel lists) make them report exactly the bugs of the issue."""
    server, pages = site
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, bypass_csp=True
    )
    page = context.new_page()
    try:
        page.goto(server.url + pages["stats"])
        page.add_style_tag(
            content="header.top .wrap, header.top nav { flex-wrap: nowrap !important; }"
            " header.top .wrap { height: 48px; }"
            " header.top nav { flex-basis: auto !important; }"
            " .charts { grid-template-columns: repeat(auto-fit, minmax(520px, 1fr)) !important; }"
            " .muted { color: #aab !important; }"
        )
        problems = check_page(page, "stats (old rules)", 390)
        assert any("px wide" in p for p in problems)
        assert any("contrast" in p for p in problems)
        page.goto(server.url + pages["groups"])
        page.add_style_tag(
            content="header.top .wrap { height: 48px; flex-wrap: wrap; }"
            " header.top nav { flex-basis: 100%; }"
        )
        problems = check_page(page, "groups (old header)", 390)
        assert any("spills out of the header" in p for p in problems), problems
    finally:
        context.close()


def test_screenshot_tool_takes_every_page_at_both_sizes(site, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The documented command produces the screenshot set (here against the test server;
    without --url it starts `kpanic serve --demo` itself), and says no page is too wide."""
    import subprocess
    import sys

    from tests.conftest import ROOT

    readme = (ROOT / "README.md").read_text()
    assert ".venv/bin/python tools/screenshots.py --out shots/" in readme
    server, pages = site
    out = tmp_path / "shots"
    run = subprocess.run(
        [
            sys.executable,
            str(ROOT / "tools" / "screenshots.py"),
            "--out",
            str(out),
            "--url",
            server.url,
            "--token",
            pages["token"],
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    shots = sorted(p.name for p in out.glob("*.png"))
    names = {
        "groups",
        "group",
        "reports",
        "report",
        "stats",
        "submit",
        "preview",
        "fragment",
        "docs",
        "login",
        "error",
        "admin",
        "group-admin",
        "confirm",
    }
    assert shots == sorted(f"{size}-{name}.png" for size in SIZES for name in names)
    assert all((out / s).stat().st_size > 5000 for s in shots)
    widths = (out / "widths.txt").read_text()
    assert "TOO WIDE" not in widths and widths.count(" px of 390") == len(names)


def _panic_link(base: str, kernel: str, log_number: int = 428) -> str:
    """A panic URL as the kernel draws it (utsname pasted unescaped), for a demo log whose
    oops lines name the same release, as a real kernel's do."""
    import re

    from kpanic.qr.kmsg import build_url, url_mode

    log = re.sub(
        r"(Not tainted|Tainted: \S+) \S+", lambda m: f"{m.group(1)} {kernel}", demo_log(log_number)
    )
    prefix = build_url(base + "/report", arch="x86_64", kernel=kernel)
    return url_mode(log, prefix).code.text


@pytest.mark.parametrize("kernel", ["6.18.14+", "6.15.6+deb13-amd64"])
def test_fragment_preview_keeps_plus_and_says_when_stored(browser, site, kernel) -> None:  # type: ignore[no-untyped-def]
    """The query is parsed as the kernel writes it ('+' is a plus, not a space), and once the
    person stored the crash the page says so instead of "Nothing has been sent yet"."""
    server, _ = site
    url = _panic_link(server.url, kernel)
    assert f"v={kernel}&" in url  # the '+' is in the link itself, unescaped
    query = url.split("?", 1)[1]
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    try:
        page.goto(f"{server.url}/report#?{query}")
        page.wait_for_selector("#fragment-decoded:not([hidden])", timeout=20_000)
        assert page.inner_text("#frag-kernel") == kernel
        assert page.evaluate("(q) => window.KpanicPanic.parseParams(q).kernel", query) == kernel
        parsed = page.evaluate("(q) => window.KpanicPanic.parseParams(q)", "?v=6.1%2B+x&a=x")
        assert parsed["kernel"] == "6.1++x" and parsed["arch"] == "x"
        assert page.evaluate("(q) => window.KpanicPanic.parseParams(q).kernel", "?v=5%zz") == (
            "5%zz"
        )
        assert "Nothing has been sent" in page.inner_text("main")
        page.click("#submit-fragment")
        page.wait_for_selector("#result-advice:not([hidden])", timeout=30_000)
        main = page.inner_text("main")
        assert "Nothing has been sent" not in main
        assert page.is_visible("#frag-stored")
        stored = page.inner_text("#frag-stored")
        report_id = int(stored.rsplit("#", 1)[1].rstrip("."))
        summary = httpx.get(f"{server.url}/api/v1/reports/{report_id}").json()["summary"]
        assert summary["kernel"] == kernel  # the server stored what the page showed
        assert "journalctl -k -b -1 > kernel.log" in page.inner_text("#result-steps")
        assert f"Kernel release: {kernel}" in page.inner_text("#result-text")
        assert page.inner_text("#result-what").startswith("The kernel ")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        screenshot(page, f"phone-fragment-stored-{kernel.replace('+', 'plus')}")
    finally:
        context.close()


def test_preview_in_plain_words_says_whether_the_crash_is_known(browser, site) -> None:  # type: ignore[no-untyped-def]
    """The server-rendered preview of a query link: what crashed, whether it is known (the
    group, its count, since when), and what to do next; a second copy is 'already known'."""
    server, _ = site
    url = _panic_link(server.url, "6.14.0-15-generic", 740)
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    try:
        page.goto(url)
        what = page.inner_text("#advice-what")
        assert what.startswith("The kernel ") and "Rust" in what
        assert "not known yet" in page.inner_text("#advice-known")
        steps = page.inner_text("#advice-steps")
        assert "journalctl -k -b -1 > kernel.log" in steps and "kpanic collect --show" in steps
        assert "Ubuntu" in steps  # the distribution guessed from the release, with its tracker
        assert "Kernel release: 6.14.0-15-generic" in page.inner_text("#advice-text")
        page.click("#submit-url")
        page.wait_for_url("**/reports/*")
        group_id = httpx.get(
            page.url.split("?")[0].replace("/reports/", "/api/v1/reports/")
        ).json()["summary"]["group_id"]
        # The same crash from another machine: now it is known, with its group and count.
        page.goto(_panic_link(server.url, "6.14.0-16-generic", 740))
        known = page.inner_text("#advice-known")
        assert f"crash group #{group_id}" in known and "1 report" in known, known
        assert page.locator(f"#advice-known a[href$='/groups/{group_id}']").count() == 1
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        screenshot(page, "phone-preview-known")
    finally:
        context.close()


@pytest.mark.parametrize("size", list(SIZES))
def test_chart_labels_are_readable_and_bars_link_to_the_list(browser, site, size) -> None:  # type: ignore[no-untyped-def]
    """Chart text is drawn at a readable size on the screen it is shown on (phones get charts
    drawn for their width, not desktop charts shrunk), and a bar opens the filtered list."""
    server, pages = site
    width, height = SIZES[size]
    context = browser.new_context(
        viewport={"width": width, "height": height}, is_mobile=size == "phone"
    )
    page = context.new_page()
    try:
        page.goto(server.url + pages["stats"])
        heights = page.evaluate(
            """() => Array.from(document.querySelectorAll('.chart svg text'))
                 .map((t) => t.getBoundingClientRect())
                 .filter((r) => r.width > 0).map((r) => r.height)"""
        )
        assert len(heights) > 10
        assert min(heights) >= 10, sorted(heights)[:5]
        bar = page.locator(".chart a[href*='bug_class=']:visible").first
        target = bar.get_attribute("href")
        with page.expect_navigation():
            bar.click()
        assert page.url.endswith(target)
        assert page.locator("#reports tbody tr").count() >= 1
    finally:
        context.close()
