"""End to end in a real Chromium: a panic link with its data in the fragment is decoded in the
browser, nothing reaches the server before the person agrees, then the crash shows up in its
group and on the statistics page. Also: hostile text in a kmsg or URL never runs as script."""

from __future__ import annotations

import httpx
import pytest

from tests.web.conftest import demo_log, kmsg_urls, screenshot

pytestmark = pytest.mark.browser


def _report_count(server) -> int:  # type: ignore[no-untyped-def]
    return int(httpx.get(server.url + "/api/v1/reports").json()["total"])


def test_fragment_link_submit_group_and_stats(page, module_server) -> None:  # type: ignore[no-untyped-def]
    vector = kmsg_urls("fido2")[0]
    query = vector["url"].split("?", 1)[1]
    digits = query.split("z=", 1)[1]
    before = _report_count(module_server)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url + " " + (r.post_data or "")))

    page.goto(f"{module_server.url}/report#?{query}")
    page.wait_for_selector("#fragment-decoded:not([hidden])", timeout=20_000)
    # The browser decoded exactly the kernel's log.
    assert page.inner_text("#frag-text").strip() == vector["plaintext"].strip()
    assert page.inner_text("#frag-arch") == query.split("a=", 1)[1].split("&", 1)[0]
    screenshot(page, "01-fragment-decoded")

    # Privacy: before the click, no request carried the data and nothing was stored.
    assert not any(digits[:40] in r for r in requests)
    assert digits[:40] not in module_server.log()
    assert _report_count(module_server) == before

    page.click("#submit-fragment")
    page.wait_for_selector("#submit-result:not([hidden])", timeout=30_000)
    assert any(digits[:40] in r for r in requests)  # sent only now, after consent
    assert _report_count(module_server) == before + 1
    title = page.inner_text("#result-title")
    assert title and title != "(no crash found in this log)"
    screenshot(page, "02-fragment-submitted")

    page.click("#result-link")
    page.wait_for_selector("h1")
    assert page.inner_text("h1").strip() == title
    assert page.locator("#group-reports tbody tr").count() == 1
    assert page.locator("ol.frames li").count() > 0
    screenshot(page, "03-group")

    page.goto(module_server.url + "/groups")
    assert title in page.inner_text("#groups")
    screenshot(page, "04-groups")

    page.goto(module_server.url + "/stats")
    assert page.inner_text("#stat-total").strip() == str(before + 1)
    assert page.locator(".chart svg rect").count() > 3
    screenshot(page, "05-stats")


def test_query_link_preview_then_submit(page, module_server) -> None:  # type: ignore[no-untyped-def]
    vector = kmsg_urls("legacy")[0]
    query = vector["url"].split("?", 1)[1]
    before = _report_count(module_server)
    page.goto(f"{module_server.url}/report?{query}")
    assert "not stored yet" in page.inner_text(".alert.info")
    assert _report_count(module_server) == before
    screenshot(page, "06-query-preview")
    page.click("#submit-url")
    page.wait_for_url("**/reports/*?submitted=new")
    assert _report_count(module_server) == before + 1
    assert vector["plaintext"].splitlines()[-1].strip()[-30:] in page.inner_text("#kmsg")
    screenshot(page, "07-report")


HOSTILE = [
    "<script>window.__xss = 1</script>",
    '<img src=x onerror="window.__xss = 2">',
    '"><svg onload="window.__xss = 3">',
]


def _hostile_log() -> str:
    lines = demo_log(428).splitlines()
    return (
        "\n".join([lines[0], *(f"[    1.00000{i}] {h}" for i, h in enumerate(HOSTILE)), *lines[1:]])
        + "\n"
    )


def test_hostile_kmsg_and_url_parameters_never_run(page, module_server) -> None:  # type: ignore[no-untyped-def]
    from kpanic.qr.kmsg import build_url, url_mode

    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    prefix = build_url(
        module_server.url + "/report",
        arch='x86_64"><script>window.__xss=4</script>',
        kernel="<img src=x onerror=window.__xss=5>",
    )
    url = url_mode(_hostile_log(), prefix).code.text
    query = url.split("?", 1)[1]

    # 1. fragment page (decoded by script, shown with textContent)
    page.goto(f"{module_server.url}/report#?{query}")
    page.wait_for_selector("#fragment-decoded:not([hidden])", timeout=20_000)
    assert HOSTILE[0] in page.inner_text("#frag-text")  # shown as text...
    assert page.evaluate("window.__xss") is None  # ...never run
    # 2. server-rendered preview of the same link
    page.goto(f"{module_server.url}/report?{query}")
    html = page.content()
    assert "<script>window.__xss" not in html and "&lt;script&gt;window.__xss" in html
    assert page.evaluate("window.__xss") is None
    page.click("#submit-url")
    page.wait_for_url("**/reports/*")
    report_url = page.url.split("?")[0]
    report_id = int(report_url.rsplit("/", 1)[1])
    group_id = httpx.get(f"{module_server.url}/api/v1/reports/{report_id}").json()["summary"][
        "group_id"
    ]
    # 3. every page that shows the stored report
    for path in (
        report_url,
        "/groups",
        "/reports",
        "/stats",
        f"/groups/{group_id}",
        f"/reports/{report_id}/raw",
    ):
        page.goto(path if path.startswith("http") else module_server.url + path)
        assert page.evaluate("window.__xss") is None, path
        if not path.endswith("/raw"):
            assert "<script>window.__xss" not in page.content(), path
    raw = httpx.get(f"{module_server.url}/reports/{report_id}/raw")
    assert raw.headers["content-type"].startswith("text/plain")
    assert raw.headers["x-content-type-options"] == "nosniff"
    assert not dialogs
    screenshot(page, "08-hostile-report")


def test_admin_logs_in_and_merges_groups(page, module_server) -> None:  # type: ignore[no-untyped-def]
    from kpanic.store.repository import Repository

    ids = []
    for n in (748, 749):  # two Rust panics
        r = httpx.post(
            module_server.url + "/api/v1/reports?wait=10", json={"log": demo_log(n)}, timeout=30
        )
        assert r.status_code == 201
        ids.append(r.json()["group_id"])
    with Repository(module_server.db_url) as repo:
        token = repo.create_token("browser-admin").token

    page.goto(module_server.url + f"/groups/{ids[0]}")
    assert page.locator("ol.frames li.rust").count() > 0  # Rust frames are marked
    assert page.locator("text=Merge").count() == 0  # no admin controls for visitors
    page.goto(module_server.url + "/admin/login")
    page.fill("input[name=token]", token)
    page.click("form.card button[type=submit]")
    page.wait_for_url("**/groups")
    page.goto(module_server.url + f"/groups/{ids[0]}")
    page.fill("input[name=sources]", str(ids[1]))
    with page.expect_navigation():
        page.click("button:has-text('Merge')")
    assert "cannot be" in page.inner_text("#confirm") or "undo" in page.inner_text("#confirm")
    with page.expect_navigation():  # the confirm step, then the merge itself
        page.click("#confirm-yes")
    assert page.locator("#group-reports tbody tr").count() == 2
    assert "Merged in" in page.inner_text("main")
    screenshot(page, "09-admin-merged-group")


def test_the_submit_form_shows_analysing_then_the_report(page, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """With no wait on the form, the browser sees the "analysing" page, which polls the
    status URL and goes to the report once a worker has analysed it (no reload)."""
    from tests.web.conftest import start_server, start_worker

    server = start_server(
        f"sqlite:///{tmp_path / 'slow.db'}",
        tmp_path / "server.log",
        env={"KPANIC_PAGE_WAIT_S": "0"},
        queues=(),  # no worker yet: the submission stays queued
    )
    try:
        page.goto(server.url + "/submit")
        page.fill("textarea[name=log]", demo_log(310))
        page.evaluate("() => document.querySelector('textarea[name=log]').form.submit()")
        page.wait_for_url("**/submissions/*")
        assert "Analysing" in page.inner_text("#submission-status")
        screenshot(page, "08-analysing")
        server.workers.append(start_worker(server.db_url, tmp_path / "server.log"))
        page.wait_for_url("**/reports/*?submitted=*", timeout=30_000)
        assert page.inner_text("h1").strip()  # the report page, with its title
    finally:
        server.stop()
