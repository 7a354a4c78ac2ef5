"""Triage through the HTTP API and the pages, on SQLite and PostgreSQL: status changes by an
authorised user, regressions seen through intake, assignment, links, duplicates, rules with
their delivery log, owners from MAINTAINERS, the list filters, the mail view and Atom feeds."""

from __future__ import annotations

import datetime as dt
import json

import feedparser
import pytest

from kpanic.store.notify import dispatch
from kpanic.triage.deliver import verify_signature
from kpanic.triage.settings import TriageSettings
from tests.web.triage_data import MAINTAINERS, Receiver, kasan_on, log_of, rust_panic_on


def _auth(client, name: str = "alice") -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {"Authorization": f"Bearer {client.app.state.repo.create_token(name).token}"}


def _submit(client, log: str) -> dict:  # type: ignore[no-untyped-def,type-arg]
    r = client.post("/api/v1/reports?wait=10", json={"log": log})
    assert r.status_code in (200, 201), r.text
    return r.json()  # type: ignore[no-any-return]


def _ids(client, **params: str) -> set[int]:  # type: ignore[no-untyped-def]
    r = client.get("/api/v1/groups", params=params)
    assert r.status_code == 200, r.text
    return {g["id"] for g in r.json()["items"]}


def test_fix_then_regression_through_intake(client) -> None:  # type: ignore[no-untyped-def]
    gid = _submit(client, kasan_on("6.15.1"))["group_id"]
    other = _submit(client, log_of("btrfs-refcount-warning.txt"))["group_id"]
    url = f"/api/v1/groups/{gid}/status"
    # Nobody may change a state without a token; a bad token is refused too.
    assert client.post(url, json={"status": "fixed", "release": "6.15.3"}).status_code == 401
    bad = {"Authorization": "Bearer kp_nope"}
    assert client.post(url, json={"status": "fixed"}, headers=bad).status_code == 401
    auth = _auth(client)
    # Refusals are 4xx with the reason, never a 500.
    r = client.post(url, json={"status": "fixed"}, headers=auth)
    assert r.status_code == 422 and "commit or the first release" in r.json()["detail"]
    r = client.post(url, json={"status": "fixed", "release": "banana"}, headers=auth)
    assert r.status_code == 422 and "not a kernel release" in r.json()["detail"]
    r = client.post(url, json={"status": "reopened"}, headers=auth)
    assert r.status_code == 422
    r = client.post("/api/v1/groups/999999/status", json={"status": "open"}, headers=auth)
    assert r.status_code == 404 and "no such group" in r.json()["detail"]
    r = client.post(
        url,
        json={
            "status": "fixed",
            "release": "6.15.3",
            "commit": "0123abcd",
            "why": "patch queued for stable",
        },
        headers=auth,
    )
    assert r.status_code == 200, r.text
    assert r.json()["summary"] == "fixed in commit 0123abcd and release 6.15.3"
    assert _ids(client, status="fixed") == {gid}
    assert _ids(client, status="open") == {other}

    _submit(client, kasan_on("6.15.2", 1))  # an old kernel in the field
    t = client.get(f"/api/v1/groups/{gid}/triage").json()
    assert (t["status"], t["before_fix"], t["regressed"]) == ("fixed", 1, False)
    _submit(client, kasan_on("6.15.10", 2))  # 6.15.10 > 6.15.3 (not as text)
    t = client.get(f"/api/v1/groups/{gid}/triage").json()
    assert (t["status"], t["regressed"]) == ("open", True)
    assert [h["action"] for h in t["history"]] == ["regressed", "status"]
    assert t["history"][1]["who"] == "alice" and t["history"][1]["why"] == "patch queued for stable"
    assert "crashed again on 6.15.10" in t["history"][0]["why"]
    assert _ids(client, regressed="true") == {gid}
    assert _ids(client, regressed="false") == {other}
    assert client.get("/api/v1/groups", params={"regressed": "maybe"}).status_code == 422


def test_assign_links_duplicates_and_mine(client) -> None:  # type: ignore[no-untyped-def]
    a = _submit(client, kasan_on("6.15.1"))["group_id"]
    b = _submit(client, log_of("btrfs-refcount-warning.txt"))["group_id"]
    auth = _auth(client, "bob")
    r = client.post(
        f"/api/v1/groups/{a}/assign", json={"assignee": "bob", "why": "wifi"}, headers=auth
    )
    assert r.status_code == 200 and r.json()["assignee"] == "bob"
    assert _ids(client, assignee="bob") == {a}
    assert client.get("/api/v1/groups", params={"mine": "true"}).status_code == 401
    mine = client.get("/api/v1/groups", params={"mine": "true"}, headers=auth).json()
    assert [g["id"] for g in mine["items"]] == [a]

    link = client.post(
        f"/api/v1/groups/{a}/links",
        headers=auth,
        json={
            "url": "https://git.kernel.org/pub/scm/linux/kernel/git/torvalds/linux.git/commit/"
            "?id=0123abcd4567",
            "title": "wifi: mac80211: fix use-after-free",
        },
    )
    assert link.status_code == 201 and link.json()["kind"] == "commit"
    bz = client.post(
        f"/api/v1/groups/{a}/links",
        headers=auth,
        json={"url": "https://bugzilla.kernel.org/show_bug.cgi?id=219999"},
    )
    assert bz.json()["kind"] == "bugzilla"
    evil = client.post(
        f"/api/v1/groups/{a}/links", headers=auth, json={"url": "javascript:alert(1)"}
    )
    assert evil.status_code == 422 and "http" in evil.json()["detail"]
    client.post(
        f"/api/v1/groups/{a}/status",
        headers=auth,
        json={"status": "fixed", "commit": "0123abcd4567"},
    )
    t = client.get(f"/api/v1/groups/{a}/triage").json()
    assert t["fix_commit_subject"] == "wifi: mac80211: fix use-after-free"
    assert [x["kind"] for x in t["links"]] == ["commit", "bugzilla"]
    gone = client.delete(f"/api/v1/groups/{a}/links/{bz.json()['id']}", headers=auth)
    assert gone.status_code == 200
    again = client.delete(f"/api/v1/groups/{a}/links/{bz.json()['id']}", headers=auth)
    assert again.status_code == 404

    # Duplicates: b's reports move into a, and come back when b is reopened.
    r = client.post(
        f"/api/v1/groups/{b}/status", headers=auth, json={"status": "duplicate", "duplicate_of": b}
    )
    assert r.status_code == 422 and "itself" in r.json()["detail"]
    r = client.post(
        f"/api/v1/groups/{b}/status",
        headers=auth,
        json={"status": "duplicate", "duplicate_of": a, "why": "same bug"},
    )
    assert r.status_code == 200
    assert client.get(f"/api/v1/groups/{a}").json()["group"]["report_count"] == 2
    client.post(f"/api/v1/groups/{b}/status", headers=auth, json={"status": "open"})
    assert client.get(f"/api/v1/groups/{a}").json()["group"]["report_count"] == 1
    assert client.get(f"/api/v1/groups/{b}").json()["group"]["report_count"] == 1


def test_possible_duplicates_listed(client) -> None:  # type: ignore[no-untyped-def]
    a = _submit(client, kasan_on("6.15.1"))["group_id"]
    # Another crash whose title ends in the same function: a candidate.
    text = log_of("mac80211-kasan-uaf-console.txt").replace(
        "slab-use-after-free Read", "slab-use-after-free Write"
    )
    text = text.replace("Read of size", "Write of size")
    b = _submit(client, text)["group_id"]
    if a == b:
        pytest.skip("the variant grouped with the original")
    t = client.get(f"/api/v1/groups/{a}/triage").json()
    assert [d["id"] for d in t["possible_duplicates"]] == [b]
    # The group page offers a one-click duplicate action to admins.
    token = client.app.state.repo.create_token("judy").token
    client.get("/admin/login")
    csrf = client.cookies.get("kpanic_csrf")
    client.post("/admin/login", data={"token": token, "csrf_token": csrf})
    page = client.get(f"/groups/{a}").text
    assert f"Mark #{b} a duplicate of this" in page
    r = client.post(
        f"/groups/{b}/triage/status",
        follow_redirects=False,
        data={
            "status": "duplicate",
            "duplicate_of": str(a),
            "why": f"same crash as group {a}",
            "csrf_token": csrf,
        },
    )
    assert r.status_code == 303 and r.headers["location"] == f"/groups/{a}#triage"
    assert client.get(f"/api/v1/groups/{a}").json()["group"]["report_count"] == 2
    assert client.get(f"/api/v1/groups/{b}/triage").json()["duplicate_of"] == a
    assert client.get(f"/api/v1/groups/{a}/triage").json()["possible_duplicates"] == []


def test_rules_secrets_and_delivery_log(client) -> None:  # type: ignore[no-untyped-def]
    auth = _auth(client)
    hook = Receiver()
    try:
        secret = "s3cret-s3cret-s3cret"
        r = client.post(
            "/api/v1/rules",
            headers=auth,
            json={
                "name": "new crashes",
                "channel": "webhook",
                "target": hook.url,
                "secret": secret,
                "events": ["new-group"],
            },
        )
        assert r.status_code == 201, r.text
        rule = r.json()
        assert "secret" not in rule and rule["has_secret"] is True
        assert client.get("/api/v1/rules").status_code == 401
        listed = client.get("/api/v1/rules", headers=auth)
        assert secret not in listed.text and listed.json()[0]["id"] == rule["id"]
        bad = client.post(
            "/api/v1/rules",
            headers=auth,
            json={"channel": "webhook", "target": hook.url, "secret": "short"},
        )
        assert bad.status_code == 422
        bad = client.post(
            "/api/v1/rules",
            headers=auth,
            json={"channel": "webhook", "target": hook.url, "secret": secret, "events": ["boom"]},
        )
        assert bad.status_code == 422 and "unknown event" in bad.json()["detail"]
        bad = client.post(
            "/api/v1/rules", headers=auth, json={"channel": "email", "target": "not an address"}
        )
        assert bad.status_code == 422

        gid = _submit(client, kasan_on("6.15.1"))["group_id"]
        later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
        res = dispatch(
            client.app.state.repo.engine, base_url="http://testserver", now=lambda: later
        )
        assert (res.planned, res.sent) == (1, 1)
        ((headers, body),) = hook.got
        assert verify_signature(
            secret, headers["X-Kpanic-Timestamp"], body, headers["X-Kpanic-Signature-256"]
        )
        assert json.loads(body)["events"][0]["group"]["id"] == gid
        log = client.get(f"/api/v1/rules/{rule['id']}/deliveries", headers=auth).json()
        assert log[0]["state"] == "sent" and log[0]["log"][0]["status"] == 200
        assert log[0]["log"][0]["answer"] == "thanks"
        assert client.delete(f"/api/v1/rules/{rule['id']}", headers=auth).status_code == 200
        assert client.get(f"/api/v1/rules/{rule['id']}/deliveries", headers=auth).status_code == 404
        assert client.delete(f"/api/v1/rules/{rule['id']}", headers=auth).status_code == 404
    finally:
        hook.close()


def test_owners_subsystem_filters_first_release_and_sort(client) -> None:  # type: ignore[no-untyped-def]
    auth = _auth(client)
    client.app.state.triage_settings = TriageSettings()
    r = client.post("/api/v1/owners/refresh", headers=auth)
    assert r.status_code == 422 and "KPANIC_MAINTAINERS" in r.json()["detail"]
    client.app.state.triage_settings = TriageSettings(maintainers_path=MAINTAINERS.parent / "x")
    r = client.post("/api/v1/owners/refresh", headers=auth)
    assert r.status_code == 422 and "MAINTAINERS file" in r.json()["detail"]
    client.app.state.triage_settings = TriageSettings(maintainers_path=MAINTAINERS)

    rust = _submit(client, rust_panic_on("6.15.1"))["group_id"]
    _submit(client, rust_panic_on("6.16.0"))
    kasan = _submit(client, kasan_on("6.16.0"))["group_id"]
    _submit(client, kasan_on("6.16.2", 1))
    _submit(client, kasan_on("6.16.3", 2))
    assert client.post("/api/v1/owners/refresh").status_code == 401
    r = client.post("/api/v1/owners/refresh", headers=auth)
    assert r.status_code == 200 and r.json()["groups_with_owners"] >= 1
    counts = {c["subsystem"]: c["groups"] for c in client.get("/api/v1/subsystems").json()}
    assert counts["RUST"] == 1
    assert _ids(client, subsystem="RUST") == {rust}
    t = client.get(f"/api/v1/groups/{rust}/triage").json()
    assert t["subsystems"][0]["name"] == "RUST"
    assert t["subsystems"][0]["lists"] == ["rust-for-linux@vger.kernel.org"]
    assert t["subsystems"][0]["reason"].startswith("F: rust/ matches ")
    # "Seen on 6.16 but not before": the KASAN group only (the Rust one crashed on 6.15.1).
    assert _ids(client, first_release="6.16") == {kasan}
    assert _ids(client, first_release="6.16.2") == set()  # it crashed on 6.16.0 already
    assert _ids(client, first_release="6.15") == {rust}
    # Sort by the number of kernel releases seen.
    order = [
        g["id"] for g in client.get("/api/v1/groups", params={"sort": "releases"}).json()["items"]
    ]
    assert order == [kasan, rust]
    assert _ids(client, new_since="2000-01-01") == {rust, kasan}
    assert _ids(client, new_since="2999-01-01") == set()
    # A filter form sends every field, the unused ones empty: empty means "any".
    assert _ids(client, status="", regressed="", subsystem="", new_since="", mine="") == {
        rust,
        kasan,
    }
    assert client.get("/api/v1/groups", params={"new_since": "yesterday"}).status_code == 422
    assert client.get("/api/v1/groups", params={"status": "closed"}).status_code == 422
    # The dashboard shows the subsystem counts and keeps the filter in its links.
    page = client.get("/groups", params={"subsystem": "RUST"})
    assert page.status_code == 200 and "RUST (1)" in page.text
    assert '/groups.atom?subsystem=RUST"' in page.text


def test_group_page_forms_need_an_admin_and_csrf(client) -> None:  # type: ignore[no-untyped-def]
    gid = _submit(client, kasan_on("6.15.1"))["group_id"]
    token = client.app.state.repo.create_token("carol").token
    page = client.get(f"/groups/{gid}")
    assert 'id="triage"' in page.text and "Save status" not in page.text  # visitors: no forms
    csrf = client.cookies.get("kpanic_csrf")
    form = {"status": "fixed", "release": "6.15.3", "why": "stable", "csrf_token": csrf}
    assert (
        client.post(f"/groups/{gid}/triage/status", data=form, follow_redirects=False).status_code
        == 401
    )
    client.post("/admin/login", data={"token": token, "csrf_token": csrf})
    assert "Save status" in client.get(f"/groups/{gid}").text
    no_csrf = {k: v for k, v in form.items() if k != "csrf_token"}
    assert client.post(f"/groups/{gid}/triage/status", data=no_csrf).status_code == 403
    r = client.post(f"/groups/{gid}/triage/status", data=form, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/groups/{gid}#triage"
    bad = client.post(f"/groups/{gid}/triage/status", data={**form, "release": "", "commit": ""})
    assert bad.status_code == 422
    client.post(f"/groups/{gid}/triage/assign", data={"me": "1", "csrf_token": csrf})
    client.post(
        f"/groups/{gid}/triage/links",
        data={
            "url": "https://lore.kernel.org/all/20261201.abc@example.org/",
            "title": "report",
            "csrf_token": csrf,
        },
    )
    html = client.get(f"/groups/{gid}").text
    assert "carol" in html and "fixed in release 6.15.3" in html and "lore" in html
    # Cookie-authenticated API calls need the CSRF header.
    assert client.post(f"/api/v1/groups/{gid}/assign", json={"assignee": "x"}).status_code == 403
    ok = client.post(
        f"/api/v1/groups/{gid}/assign", json={"assignee": "dave"}, headers={"X-CSRF-Token": csrf}
    )
    assert ok.status_code == 200 and ok.json()["assignee"] == "dave"
    listing = client.get("/groups")
    assert "@dave" in listing.text and "fixed 6.15.3" in listing.text


def test_mail_view_and_atom_feed(client) -> None:  # type: ignore[no-untyped-def]
    client.app.state.triage_settings = TriageSettings(maintainers_path=MAINTAINERS)
    rust = _submit(client, rust_panic_on("6.15.1"))["group_id"]
    kasan = _submit(client, kasan_on("6.15.1"))["group_id"]
    auth = _auth(client)
    client.post("/api/v1/owners/refresh", headers=auth)
    client.post(
        f"/api/v1/groups/{rust}/links",
        headers=auth,
        json={"url": "https://github.com/Rust-for-Linux/linux/issues/1234"},
    )
    mail = client.get(f"/groups/{rust}/mail")
    assert mail.status_code == 200 and mail.headers["content-type"].startswith("text/plain")
    text = mail.text
    title = client.get(f"/api/v1/groups/{rust}").json()["group"]["title"]
    assert f"Subject: [kpanic] {title}" in text
    assert "To: Miguel Ojeda <ojeda@example.org>" in text
    assert "Cc: rust-for-linux@vger.kernel.org" in text
    assert "kernel release: 6.15.1" in text
    assert "Call Trace:" in text and "NapiPoller" in text
    assert f"http://testserver/groups/{rust}" in text
    assert "github: https://github.com/Rust-for-Linux/linux/issues/1234" in text
    assert client.get("/groups/999999/mail").status_code == 404

    feed = client.get("/groups.atom")
    assert feed.headers["content-type"].startswith("application/atom+xml")
    parsed = feedparser.parse(feed.content)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert {e.link for e in parsed.entries} == {
        f"http://testserver/groups/{g}" for g in (rust, kasan)
    }
    one = feedparser.parse(client.get("/groups.atom", params={"subsystem": "RUST"}).content)
    assert one.bozo == 0 and [e.link for e in one.entries] == [f"http://testserver/groups/{rust}"]
    assert "subsystem=RUST" in one.feed.title
    assert "RUST" in one.entries[0].summary
    none = feedparser.parse(client.get("/groups.atom", params={"status": "invalid"}).content)
    assert none.bozo == 0 and none.entries == []


@pytest.mark.parametrize(
    "path,body",
    [
        ("/api/v1/groups/1/status", {"status": "fixed", "release": "6" * 5000}),
        ("/api/v1/groups/1/status", {"status": "duplicate", "duplicate_of": -4}),
        ("/api/v1/groups/1/status", {"status": "invalid"}),
        ("/api/v1/groups/1/status", ["not", "an", "object"]),
        ("/api/v1/groups/1/assign", {"assignee": "x" * 500}),
        ("/api/v1/groups/1/links", {"url": "https://" + "a" * 3000}),
        ("/api/v1/rules", {"channel": "pigeon", "target": "x"}),
        ("/api/v1/rules", {"channel": "email", "target": "a@b", "window_s": 1}),
    ],
)
def test_bad_input_is_a_4xx(client, path: str, body: object) -> None:  # type: ignore[no-untyped-def]
    _submit(client, kasan_on("6.15.1"))
    r = client.post(path, json=body, headers=_auth(client))
    assert 400 <= r.status_code < 500, r.text
    assert r.json()["detail"]


def test_dispatcher_thread_in_the_service(db_url: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import time

    from tests.web.conftest import make_client

    monkeypatch.setenv("KPANIC_NOTIFY_IN_SERVICE", "1")
    monkeypatch.setenv("KPANIC_NOTIFY_INTERVAL", "1")
    monkeypatch.setenv("KPANIC_BASE_URL", "https://crashes.example.org")
    hook = Receiver()
    try:
        with make_client(db_url) as client:
            auth = _auth(client)
            assert (
                client.post(
                    "/api/v1/rules",
                    headers=auth,
                    json={
                        "channel": "webhook",
                        "target": hook.url,
                        "secret": "x" * 20,
                        "events": ["new-group"],
                    },
                ).status_code
                == 201
            )
            gid = _submit(client, kasan_on("6.15.1"))["group_id"]
            deadline = time.monotonic() + 30
            while not hook.got and time.monotonic() < deadline:
                time.sleep(0.2)
        ((headers, body),) = hook.got
        assert headers["X-Kpanic-Event"] == "new-group"
        assert json.loads(body)["events"][0]["group"]["url"] == (
            f"https://crashes.example.org/groups/{gid}"
        )
    finally:
        hook.close()
