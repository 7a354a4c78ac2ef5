"""Dashboard and API (issue 16): plain-text intake, unknown filters, search over frames and
modules, filtered counts, kernel-release prefixes; against SQLite and PostgreSQL."""

from __future__ import annotations

from tests.web.conftest import demo_log


def test_plain_text_body_is_a_log(client) -> None:  # type: ignore[no-untyped-def]
    log = demo_log(740)
    # What `curl --data-binary @dmesg.txt URL` sends: the file unencoded, form content type.
    r = client.post(
        "/api/v1/reports?wait=10",
        content=log.encode(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["title"] == "KASAN: slab-use-after-free Read in chrdev_open"
    stored = client.get(f"/api/v1/reports/{r.json()['id']}/raw")
    assert stored.text == log
    # text/plain: another crash, also stored as a log
    r2 = client.post(
        "/api/v1/reports?wait=10",
        content=demo_log(250).encode(),
        headers={"content-type": "text/plain; charset=utf-8"},
    )
    assert r2.status_code == 201, r2.text
    assert r2.json()["title"] == "possible deadlock in blkdev_reread_part"
    # the same text again: a repeat, answered with the stored report
    again = client.post(
        "/api/v1/reports?wait=10", content=log.encode(), headers={"content-type": "text/plain"}
    )
    assert again.status_code == 200 and again.json()["id"] == r.json()["id"]
    # JSON still works and a real urlencoded form of the fields too
    j = client.post("/api/v1/reports?wait=10", json={"log": demo_log(511)})
    assert j.status_code == 201, j.text
    f = client.post("/api/v1/reports?wait=10", data={"log": demo_log(130)})
    assert f.status_code == 201, f.text
    assert f.json()["title"] != j.json()["title"]


def test_plain_text_body_errors(client) -> None:  # type: ignore[no-untyped-def]
    empty = client.post(
        "/api/v1/reports?wait=10", content=b"  \n", headers={"content-type": "text/plain"}
    )
    assert empty.status_code == 422 and "empty" in empty.json()["detail"]
    xml = client.post(
        "/api/v1/reports?wait=10", content=b"<a/>", headers={"content-type": "application/xml"}
    )
    assert xml.status_code == 415 and "text/plain" in xml.json()["detail"]
    bad_json = client.post(
        "/api/v1/reports?wait=10",
        content=b'{"log": 5',
        headers={"content-type": "application/json"},
    )
    assert bad_json.status_code == 422
    no_crash = client.post(
        "/api/v1/reports?wait=10",
        content=b"hello, this is not a kernel log\n",
        headers={"content-type": "text/plain"},
    )
    assert no_crash.status_code == 422, no_crash.text


def test_text_file_sent_as_photo_is_refused_clearly(client) -> None:  # type: ignore[no-untyped-def]
    files = {"photo": ("dmesg.txt", demo_log(740).encode(), "text/plain")}
    r = client.post("/api/v1/reports/photo?wait=10", files=files)
    assert r.status_code in (415, 422), r.text
    detail = r.json().get("detail") or r.json().get("error") or ""
    assert "BytesIO" not in r.text and "object at 0x" not in r.text
    assert "image" in detail.lower() or "photo" in detail.lower(), detail


LISTS = ("/api/v1/groups", "/api/v1/reports", "/api/v1/stats", "/groups", "/reports", "/stats")


def test_unknown_filters_are_a_422(client) -> None:  # type: ignore[no-untyped-def]
    client.post("/api/v1/reports?wait=10", json={"log": demo_log(740)})
    for path in LISTS:
        r = client.get(path, params={"kernal": "6.12"})
        assert r.status_code == 422, (path, r.status_code)
        text = r.json()["detail"] if path.startswith("/api") else r.text
        assert "kernal" in text and "kernel" in text and "bug_class" in text, (path, text)
    # everything the pages themselves send is known
    html = {"accept": "text/html"}
    form = {
        "q": "chrdev",
        "bug_class": "",
        "rust_prevents": "",
        "language": "",
        "kernel": "",
        "arch": "",
        "distro": "",
        "since": "",
        "until": "",
        "status": "",
        "subsystem": "",
        "assignee": "",
        "regressed": "",
        "new_since": "",
        "first_release": "",
    }
    ok = client.get(
        "/groups", params={**form, "sort": "count", "order": "asc", "page": 1}, headers=html
    )
    assert ok.status_code == 200 and "chrdev_open" in ok.text
    assert client.get("/groups", params={"per_page": 20}, headers=html).status_code == 200
    assert client.get("/reports", params={**form, "page": 1, "order": "asc"}).status_code == 200
    assert client.get("/stats", params={**form, "bucket": "week"}).status_code == 200
    assert client.get("/api/v1/reports", params={"group_id": 1, "sort": "title"}).status_code == 200
    # the reports list has no "sort" on the page: a 422 that names it
    r = client.get("/api/v1/groups", params={"group_id": 1})
    assert r.status_code == 422 and "group_id" in r.json()["detail"]
    # links the pages render keep to known parameters: follow every list link of /groups
    import re

    hrefs: set[str] = set()
    for path in ("/groups", "/stats", "/reports"):
        page = client.get(path, params={"q": "chrdev"}, headers=html).text
        hrefs |= set(re.findall(r'href="(/(?:groups|reports|stats)\?[^"]*)"', page))
    assert len(hrefs) > 5  # sort links, chart bars, the pager
    for href in hrefs:
        href = href.replace("&amp;", "&")
        assert client.get(href, headers=html).status_code == 200, href


def _btrfs(kernel: str) -> bytes:
    from tests.conftest import ROOT

    text = (ROOT / "tests/report/fixtures/btrfs-refcount-warning.txt").read_text()
    return text.replace("6.14.0-rc5+", kernel).encode()


def test_search_prefixes_and_filtered_counts_through_the_api_and_pages(client) -> None:  # type: ignore[no-untyped-def]
    for kernel in ("6.14.0-rc5+", "6.14.3-arch1-1", "6.140.1"):
        r = client.post(
            "/api/v1/reports?wait=10",
            content=_btrfs(kernel),
            headers={"content-type": "text/plain"},
        )
        assert r.status_code == 201, r.text
    client.post("/api/v1/reports?wait=10", json={"log": demo_log(740)})
    # a frame and a module of the btrfs warning, in no title
    for q in ("put_block_group", "virtio_net"):
        groups = client.get("/api/v1/groups", params={"q": q}).json()
        assert [g["title"] for g in groups["items"]] == [
            "WARNING: refcount bug in btrfs_discard_cancel_work"
        ], q
        assert client.get("/api/v1/reports", params={"q": q}).json()["total"] == 3
    page = client.get("/groups", params={"q": "virtio_net"}, headers={"accept": "text/html"})
    assert "btrfs_discard_cancel_work" in page.text and "chrdev_open" not in page.text
    # release prefix: 6.14 and its builds, not 6.140
    listed = client.get("/api/v1/groups", params={"kernel": "6.14"}).json()["items"]
    assert [(g["matching_count"], g["report_count"]) for g in listed] == [(2, 3)]
    assert client.get("/api/v1/reports", params={"kernel": "6.14.*"}).json()["total"] == 2
    assert client.get("/api/v1/stats", params={"kernel": "6.14"}).json()["total"] == 2
    assert client.get("/api/v1/stats", params={"kernel": "6.140"}).json()["total"] == 1
    html = client.get("/groups", params={"kernel": "6.14"}, headers={"accept": "text/html"}).text
    assert '2 <span class="muted small">of 3</span>' in html
    # without report filters the plain total
    plain = client.get("/api/v1/groups").json()["items"]
    assert all(g.get("matching_count") is None for g in plain)
    html = client.get("/groups", headers={"accept": "text/html"}).text
    assert "of 3</span>" not in html


def test_openapi_documents_both_bodies(client) -> None:  # type: ignore[no-untyped-def]
    spec = client.get("/openapi.json").json()
    body = spec["paths"]["/api/v1/reports"]["post"]["requestBody"]["content"]
    assert {"application/json", "text/plain", "application/x-www-form-urlencoded"} <= set(body)
    assert {"url", "payload", "log"} <= set(body["application/json"]["schema"]["properties"])
    docs = client.get("/docs").text
    assert "text/plain" in docs
