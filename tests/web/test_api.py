"""The JSON API and the pages on real data, against SQLite and PostgreSQL."""

from __future__ import annotations

import io

import pytest

from tests.web.conftest import demo_log, kmsg_urls, make_client


def _token(client) -> str:  # type: ignore[no-untyped-def]
    return client.app.state.repo.create_token("test-admin").token


def test_submit_url_log_and_duplicate(client) -> None:  # type: ignore[no-untyped-def]
    v = kmsg_urls("fido2")[0]
    r = client.post("/api/v1/reports?wait=10", json={"url": v["url"]})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["is_new"] and body["title"] and body["group_url"] == f"/groups/{body['group_id']}"
    again = client.post("/api/v1/reports?wait=10", json={"url": v["url"]})
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    assert not again.json()["is_new"]

    log = client.post("/api/v1/reports?wait=10", json={"log": demo_log(740)})
    assert log.status_code == 201
    assert log.json()["title"] == "KASAN: slab-use-after-free Read in chrdev_open"
    assert log.json()["bug_class"] == "use-after-free"

    stored = client.get(f"/api/v1/reports/{body['id']}").json()
    assert stored["kmsg"] and stored["summary"]["source_kind"] == "url"
    raw = client.get(f"/api/v1/reports/{body['id']}/raw")
    # The URL itself is kept unless scrubbing changed the log (it cannot be scrubbed in place).
    expected = stored["original"] if stored["original"] is not None else stored["log_text"]
    assert raw.status_code == 200 and raw.text == expected
    assert stored["original"] in (None, v["url"])


def test_submit_log_file_upload(client) -> None:  # type: ignore[no-untyped-def]
    files = {"file": ("dmesg.txt", demo_log(250).encode(), "text/plain")}
    r = client.post("/api/v1/reports/log?wait=10", files=files)
    assert r.status_code == 201, r.text
    assert r.json()["title"] == "possible deadlock in blkdev_reread_part"


def test_submit_photo_rendered_by_kpanic(client) -> None:  # type: ignore[no-untyped-def]
    from kpanic.qr.kmsg import build_url, url_mode
    from kpanic.qr.render import render_screen_png

    prefix = build_url("https://crashes.example.org/report", arch="x86_64", kernel="6.15.2")
    code = url_mode(demo_log(371), prefix).code
    png = render_screen_png(code, width=1280, height=960)
    r = client.post(
        "/api/v1/reports/photo?wait=10", files={"photo": ("panic.png", png, "image/png")}
    )
    assert r.status_code == 201, r.text
    assert r.json()["title"] == "KASAN: null-ptr-deref Read in zr364xx_vidioc_querycap"
    detail = client.get(f"/api/v1/reports/{r.json()['id']}").json()
    assert detail["summary"]["source_kind"] == "photo" and detail["photo_size"] == len(png)


def test_exactly_one_input(client) -> None:  # type: ignore[no-untyped-def]
    assert client.post("/api/v1/reports?wait=10", json={}).status_code == 422
    r = client.post("/api/v1/reports?wait=10", json={"url": "https://x/r?z=1", "log": "x"})
    assert r.status_code == 422 and "exactly one" in r.json()["detail"]


def _fill(client, logs=(740, 130, 511, 250, 748, 749, 310)) -> list[dict]:  # type: ignore[no-untyped-def]
    out = []
    for n in logs:
        r = client.post("/api/v1/reports?wait=10", json={"log": demo_log(n)})
        assert r.status_code == 201, (n, r.text)
        out.append(r.json())
    return out


def test_lists_filters_and_pagination(client) -> None:  # type: ignore[no-untyped-def]
    stored = _fill(client)
    groups = client.get("/api/v1/groups").json()
    assert groups["total"] == len({s["group_id"] for s in stored})
    uaf = client.get("/api/v1/groups", params={"bug_class": "use-after-free"}).json()
    assert uaf["total"] == sum(1 for s in stored if s["bug_class"] == "use-after-free") > 0
    assert all(g["bug_class"] == "use-after-free" for g in uaf["items"])
    rust = client.get("/api/v1/reports", params={"language": "rust"}).json()
    assert rust["total"] >= 1 and all(r["language"] == "rust" for r in rust["items"])
    search = client.get("/api/v1/groups", params={"q": "chrdev_open"}).json()
    assert [g["title"] for g in search["items"]] == [
        "KASAN: slab-use-after-free Read in chrdev_open"
    ]
    p1 = client.get("/api/v1/reports", params={"per_page": 3, "page": 1}).json()
    p2 = client.get("/api/v1/reports", params={"per_page": 3, "page": 2}).json()
    assert len(p1["items"]) == 3 and p1["pages"] == 3
    assert not {r["id"] for r in p1["items"]} & {r["id"] for r in p2["items"]}
    by_title = client.get("/api/v1/groups", params={"sort": "title", "order": "asc"}).json()
    titles = [g["title"] for g in by_title["items"]]
    assert titles == sorted(titles)
    future = client.get("/api/v1/reports", params={"since": "2999-01-01"}).json()
    assert future["total"] == 0
    kernel = stored[0]["kernel"]
    by_kernel = client.get("/api/v1/groups", params={"kernel": kernel}).json()
    assert by_kernel["total"] >= 1


def test_stats_and_facets(client) -> None:  # type: ignore[no-untyped-def]
    stored = _fill(client)
    stats = client.get("/api/v1/stats").json()
    assert stats["total"] == len(stored)
    assert sum(n for _, n in stats["by_class"]) == len(stored)
    assert dict(stats["by_language"]).get("rust", 0) >= 1
    week = client.get("/api/v1/stats", params={"bucket": "week"}).json()
    assert sum(n for _, n in week["over_time"]) == len(stored)
    assert client.get("/api/v1/stats", params={"bucket": "year"}).status_code == 422
    facets = client.get("/api/v1/facets/bug_class").json()
    assert sum(f["count"] for f in facets) == len(stored)
    assert client.get("/api/v1/facets/nope").status_code == 404


def test_pages_render_with_data(client) -> None:  # type: ignore[no-untyped-def]
    stored = _fill(client, (740, 748))
    html = {"accept": "text/html"}
    for path in (
        "/groups",
        "/reports",
        "/stats",
        "/submit",
        "/docs",
        f"/groups/{stored[0]['group_id']}",
        f"/reports/{stored[1]['id']}",
        "/groups?bug_class=use-after-free&sort=count&order=asc",
        "/stats?bucket=month",
    ):
        r = client.get(path, headers=html)
        assert r.status_code == 200, path
    group = client.get(f"/groups/{stored[1]['group_id']}", headers=html).text
    assert 'class="rust' in group  # Rust frames are marked
    assert "guilty" in group
    assert client.get("/groups/999999", headers=html).status_code == 404
    assert client.get("/reports/999999", headers=html).status_code == 404
    assert "Not found" in client.get("/reports/999999", headers=html).text


def test_docs_are_offline(client) -> None:  # type: ignore[no-untyped-def]
    docs = client.get("/docs").text
    assert "/api/v1/reports" in docs and "cdn" not in docs.lower()
    assert "http://" not in docs.replace("http://testserver", "")
    spec = client.get("/openapi.json").json()
    assert "/api/v1/groups" in spec["paths"]


def test_admin_endpoints_need_a_token(client) -> None:  # type: ignore[no-untyped-def]
    stored = _fill(client, (740, 130))
    rid = stored[0]["id"]
    assert client.delete(f"/api/v1/reports/{rid}").status_code == 401
    bad = {"Authorization": "Bearer kp_not-a-real-token"}
    assert client.delete(f"/api/v1/reports/{rid}", headers=bad).status_code == 401
    assert client.post("/api/v1/reprocess").status_code == 401
    assert client.get("/api/v1/tokens").status_code == 401
    auth = {"Authorization": f"Bearer {_token(client)}"}
    assert client.get("/api/v1/tokens", headers=auth).status_code == 200
    assert client.delete(f"/api/v1/reports/{rid}", headers=auth).json() == {"deleted": rid}
    assert client.get(f"/api/v1/reports/{rid}").status_code == 404
    assert client.delete(f"/api/v1/reports/{rid}", headers=auth).status_code == 404


def test_merge_and_split_stick_across_reprocessing(client) -> None:  # type: ignore[no-untyped-def]
    a, b, c = _fill(client, (740, 130, 511))
    auth = {"Authorization": f"Bearer {_token(client)}"}
    r = client.post(
        f"/api/v1/groups/{a['group_id']}/merge",
        json={"source_ids": [b["group_id"], c["group_id"]]},
        headers=auth,
    )
    assert r.status_code == 200, r.text
    assert r.json()["report_count"] == 3
    split = client.post(f"/api/v1/reports/{c['id']}/split", headers=auth)
    assert split.status_code == 200, split.text
    new_group = split.json()["id"]
    assert client.post("/api/v1/reprocess", headers=auth).status_code == 200
    assert client.get(f"/api/v1/reports/{b['id']}").json()["summary"]["group_id"] == a["group_id"]
    assert client.get(f"/api/v1/reports/{c['id']}").json()["summary"]["group_id"] == new_group
    assert client.get(f"/api/v1/groups/{new_group}").json()["group"]["report_count"] == 1
    missing = client.post("/api/v1/groups/999999/merge", json={"source_ids": [1]}, headers=auth)
    assert missing.status_code == 404


def test_admin_session_login_and_forms(client) -> None:  # type: ignore[no-untyped-def]
    a, b = _fill(client, (740, 130))
    token = _token(client)
    login_page = client.get("/admin/login")
    csrf = client.cookies.get("kpanic_csrf")
    assert csrf and csrf in login_page.text
    wrong = client.post("/admin/login", data={"token": "kp_wrong", "csrf_token": csrf})
    assert wrong.status_code == 401
    ok = client.post(
        "/admin/login", data={"token": token, "csrf_token": csrf}, follow_redirects=False
    )
    assert ok.status_code == 303 and "kpanic_admin" in ok.headers["set-cookie"]
    assert "HttpOnly" in ok.headers["set-cookie"] and "SameSite=strict" in ok.headers["set-cookie"]
    page = client.get(f"/groups/{a['group_id']}").text
    assert "Merge" in page and "Split out" in page
    # A form without the CSRF token is refused even for a logged-in admin.
    assert (
        client.post(
            f"/groups/{a['group_id']}/merge", data={"sources": str(b["group_id"])}
        ).status_code
        == 403
    )
    merged = client.post(
        f"/groups/{a['group_id']}/merge",
        data={"sources": str(b["group_id"]), "csrf_token": csrf},
        follow_redirects=False,
    )
    assert merged.status_code == 303
    assert client.get(f"/api/v1/groups/{a['group_id']}").json()["group"]["report_count"] == 2
    # Cookie-authenticated API calls need the CSRF header too.
    assert client.delete(f"/api/v1/reports/{b['id']}").status_code == 403
    assert (
        client.delete(f"/api/v1/reports/{b['id']}", headers={"X-CSRF-Token": csrf}).status_code
        == 200
    )
    out = client.post("/admin/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert out.status_code == 303
    client.cookies.delete("kpanic_admin")
    assert client.get("/admin").status_code == 401


def test_submit_page_forms(client) -> None:  # type: ignore[no-untyped-def]
    client.get("/submit")
    csrf = client.cookies.get("kpanic_csrf")
    v = kmsg_urls("legacy")[0]
    r = client.post(
        "/submit", data={"kind": "url", "url": v["url"], "csrf_token": csrf}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"].endswith("?submitted=new")
    r = client.post(
        "/submit",
        data={"kind": "log", "log": demo_log(310), "csrf_token": csrf},
        follow_redirects=False,
    )
    assert r.status_code == 303
    no_csrf = client.post("/submit", data={"kind": "log", "log": demo_log(428)})
    assert no_csrf.status_code == 403
    forged = client.post(
        "/submit", data={"kind": "log", "log": demo_log(428), "csrf_token": "A" * 43}
    )
    assert forged.status_code == 403


@pytest.mark.parametrize("encoder", ["fido2", "legacy"])
def test_every_kmsg_vector_through_report_intake(client, encoder: str) -> None:  # type: ignore[no-untyped-def]
    """/report?... decodes each kernel vector, shows it, and stores nothing until submitted."""
    for v in kmsg_urls(encoder):
        query = v["url"].split("?", 1)[1]
        r = client.get(f"/report?{query}", headers={"accept": "text/html"})
        assert r.status_code in (200, 422), v["id"]
        if r.status_code == 200:
            assert "Submit this crash report" in r.text
    assert client.get("/api/v1/reports").json()["total"] == 0


def test_two_app_instances_share_one_database(db_url: str) -> None:
    """Two processes' worth of apps on one database see each other's reports at once."""
    with make_client(db_url) as one, make_client(db_url) as two:
        r = one.post("/api/v1/reports?wait=10", json={"log": demo_log(740)})
        assert two.get(f"/api/v1/reports/{r.json()['id']}").status_code == 200
        dup = two.post("/api/v1/reports?wait=10", json={"log": demo_log(740)})
        assert dup.status_code == 200 and dup.json()["id"] == r.json()["id"]


def test_photo_that_is_not_an_image(client) -> None:  # type: ignore[no-untyped-def]
    r = client.post(
        "/api/v1/reports/photo?wait=10",
        files={"photo": ("x.jpg", io.BytesIO(b"\x00\x01garbage" * 100), "image/jpeg")},
    )
    assert r.status_code == 422 and "not-an-image" in r.json()["detail"]
