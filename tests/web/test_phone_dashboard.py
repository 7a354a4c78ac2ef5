"""The dashboard answers a maintainer's questions: merged groups' addresses lead to the group
they went into, destructive admin actions pass a confirmation step (no JavaScript needed), chart
bars link to the filtered list, the kernel filter offers the releases seen; and the preview's
plain words (what crashed, is it known, what next). SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import re
from html import unescape

import pytest

from kpanic.web import advice
from kpanic.web.releases import release_options, version_key
from tests.web.conftest import demo_log


def _fill(client, numbers):  # type: ignore[no-untyped-def]
    out = []
    for n in numbers:
        r = client.post("/api/v1/reports?wait=10", json={"log": demo_log(n)})
        assert r.status_code == 201, r.text
        out.append(r.json())
    return out


def _log_in(client) -> str:  # type: ignore[no-untyped-def]
    token = client.app.state.repo.create_token("phone-admin").token
    client.get("/admin/login")
    csrf = client.cookies.get("kpanic_csrf")
    ok = client.post(
        "/admin/login", data={"token": token, "csrf_token": csrf}, follow_redirects=False
    )
    assert ok.status_code == 303
    return str(csrf)


def _form(html: str, form_id_text: str) -> tuple[str, str, dict[str, str]]:
    """(method, action, hidden fields) of the first form containing ``form_id_text``."""
    for m in re.finditer(r"<form([^>]*)>(.*?)</form>", html, re.S):
        if form_id_text in m.group(2):
            attrs = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
            fields = dict(
                re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', m.group(2))
            )
            return attrs.get("method", "get"), unescape(attrs.get("action", "")), fields
    raise AssertionError(f"no form with {form_id_text!r}")


def test_merged_group_address_redirects_to_its_target(client) -> None:  # type: ignore[no-untyped-def]
    a, b, c = _fill(client, (740, 130, 511))
    csrf = _log_in(client)
    ga, gb, gc = a["group_id"], b["group_id"], c["group_id"]
    # The dashboard's merge goes through the confirm page, which names both groups.
    page = client.get(f"/admin/confirm?action=merge-groups&id={ga}&sources={gb}")
    assert page.status_code == 200
    assert b["title"] in unescape(page.text) and a["title"] in unescape(page.text)
    method, action, fields = _form(page.text, "confirm-yes")
    assert method == "post" and action.endswith(f"/groups/{ga}/merge")
    assert fields["sources"] == str(gb) and fields["csrf_token"] == csrf
    assert client.post(action, data=fields, follow_redirects=False).status_code == 303

    moved = client.get(f"/groups/{gb}", follow_redirects=False)
    assert moved.status_code == 301 and moved.headers["location"] == f"/groups/{ga}"
    assert b["title"] in unescape(client.get(f"/groups/{gb}").text)  # the report is there
    # Merged again (through the API): both old addresses lead to the live group.
    auth = {"Authorization": f"Bearer {client.app.state.repo.create_token('x').token}"}
    r = client.post(f"/api/v1/groups/{gc}/merge", json={"source_ids": [ga]}, headers=auth)
    assert r.status_code == 200, r.text
    for old in (ga, gb):
        hop = client.get(f"/groups/{old}", follow_redirects=False)
        assert hop.status_code == 301 and hop.headers["location"] == f"/groups/{gc}"
    # Reprocessing keeps the addresses; a group that never existed is still a 404.
    assert client.post("/api/v1/reprocess", headers=auth).status_code == 200
    assert (
        client.get(f"/groups/{gb}", follow_redirects=False).headers["location"] == f"/groups/{gc}"
    )
    assert client.get("/groups/999999", follow_redirects=False).status_code == 404
    # New reports of a merged kind still join the live group (no classifier signature looks
    # like the redirect rows).
    again = client.post("/api/v1/reports?wait=10", json={"log": demo_log(130) + "\n"})
    assert again.json()["group_id"] == gc


def test_destructive_admin_actions_ask_first(client) -> None:  # type: ignore[no-untyped-def]
    (a,) = _fill(client, (428,))
    assert client.get("/admin/confirm?action=reprocess").status_code == 401  # admins only
    csrf = _log_in(client)
    # The report page's Delete button leads to the confirm page, not to the delete itself.
    report_page = client.get(f"/reports/{a['id']}").text
    method, action, fields = _form(report_page, ">Delete<")
    assert method == "get" and action.endswith("/admin/confirm")
    assert fields == {"action": "delete-report", "id": str(a["id"])}
    assert f"/reports/{a['id']}/delete" not in report_page
    confirm = client.get(action, params=fields)
    assert confirm.status_code == 200 and "cannot be undone" in confirm.text
    assert a["title"] in unescape(confirm.text)
    assert client.get(f"/api/v1/reports/{a['id']}").status_code == 200  # still there
    method, action, fields = _form(confirm.text, "confirm-yes")
    assert method == "post" and fields["csrf_token"] == csrf
    assert client.post(action, data=fields, follow_redirects=False).status_code == 303
    assert client.get(f"/api/v1/reports/{a['id']}").status_code == 404

    # Revoking a token and reprocessing: the admin page's buttons ask first, too.
    victim = client.app.state.repo.create_token("victim")
    admin_page = client.get("/admin").text
    method, action, fields = _form(admin_page, "Revoke")
    assert method == "get" and fields["action"] == "revoke-token"
    confirm = client.get(action, params=fields)
    assert "loses admin access" in confirm.text
    method, action, fields = _form(admin_page, "Reprocess all reports")
    assert method == "get" and fields == {"action": "reprocess"}
    assert "Reprocess every report?" in client.get(action, params=fields).text
    assert client.app.state.repo.verify_token(victim.token) is not None  # nothing happened
    # Wrong input: a clear 4xx, never a 500.
    assert client.get("/admin/confirm?action=drop-tables").status_code == 422
    assert client.get("/admin/confirm?action=delete-report").status_code == 422
    assert client.get("/admin/confirm?action=delete-report&id=999999").status_code == 404
    assert client.get("/admin/confirm?action=merge-groups&id=1&sources=x").status_code == 422


def test_chart_bars_link_to_the_filtered_list(client) -> None:  # type: ignore[no-untyped-def]
    reports = _fill(client, (740, 130, 511, 748))
    html = client.get("/stats").text
    links = {unescape(h) for h in re.findall(r'<a href="([^"]+)" aria-label', html)}
    classes = {r["bug_class"] for r in reports}
    for cls in classes:
        link = f"/reports?bug_class={cls}"
        assert link in links, (cls, sorted(links))
        listed = client.get(link).text
        expected = sum(1 for r in reports if r["bug_class"] == cls)
        assert f"{expected} report{'s' if expected != 1 else ''}" in listed
    assert any(h.startswith("/reports?rust_prevents=") for h in links)
    assert any(h.startswith("/reports?language=") for h in links)
    today = dt.datetime.now(dt.UTC).date()
    tomorrow = today + dt.timedelta(days=1)
    assert f"/reports?since={today}&until={tomorrow}" in links  # the time bar of today
    # The statistics page's own filters are kept in the links.
    filtered = client.get("/stats?language=c").text
    kept = {unescape(h) for h in re.findall(r'<a href="([^"]+)" aria-label', filtered)}
    assert kept and all("language=c" in h for h in kept)


def test_kernel_filter_offers_the_releases_seen(client) -> None:  # type: ignore[no-untyped-def]
    reports = _fill(client, (740, 130, 428))
    page = client.get("/groups").text
    options = re.findall(r'<option value="([^"]+)">', page.split('id="kernel-releases"', 1)[1])
    seen = {r["kernel"] for r in reports if r["kernel"]}
    assert seen and set(options) == seen
    assert options == sorted(seen, key=version_key, reverse=True)
    assert 'list="kernel-releases"' in page


def test_release_order_compares_numbers() -> None:
    class F:
        def __init__(self, v: str) -> None:
            self.value = v

    got = release_options([F("6.12.9"), F("6.12.10"), F("5.3.0-rc7+"), F("6.12.9"), F("")])
    assert got == ["6.12.10", "6.12.9", "5.3.0-rc7+"]


def test_plain_words() -> None:
    what = advice.what_crashed("use-after-free", "yes", "foo_release")
    assert what == (
        "The kernel used memory after it had been freed in the function foo_release. "
        "Code written in safe Rust would have prevented this kind of bug."
    )
    assert advice.what_crashed(None, None).endswith(advice.UNKNOWN_VERDICT)
    group = {"id": 7, "report_count": 3, "first_seen": dt.datetime(2026, 1, 2, tzinfo=dt.UTC)}
    known = advice.known_status(group, stored=False)
    assert (
        known
        == "This crash is already known as crash group #7 with 3 reports, first seen on 2026-01-02."
    )
    assert "fixed" not in known  # no fix release recorded: nothing said about one
    fixed = advice.advise(
        title="t",
        bug_class="leak",
        rust_prevents="no",
        guilty=None,
        kernel="6.12.9",
        arch="x86_64",
        distro="debian",
        group={**group, "fixed_in": "6.12.11"},
        stored=True,
    )
    assert "It is fixed in kernel 6.12.11." in fixed.known
    assert fixed.steps[0].text.startswith("Update to kernel 6.12.11")
    assert "reportbug" in fixed.steps[1].text
    assert [s.command for s in fixed.steps if s.command] == [
        "journalctl -k -b -1 > kernel.log",
        "kpanic collect --show",
    ]
    upstream = advice.next_steps(None, None)
    assert "bugzilla.kernel.org" in upstream[1].text
    first = advice.known_status({"id": 1, "report_count": 1}, stored=True, group_is_new=True)
    assert "first report" in first


@pytest.mark.parametrize("bug_class", ["out-of-bounds", "rust-panic", "hang", "nonsense"])
def test_every_class_reads_as_a_sentence(bug_class: str) -> None:
    text = advice.what_crashed(bug_class, "partly")
    assert text.startswith("The kernel ") and text.count(".") >= 2 and "  " not in text


def _photo(kind: str) -> bytes:
    """An unreadable photo: a real panic-screen photo blurred past reading, or a blank one."""
    import io

    from PIL import Image, ImageFilter

    from tests.conftest import ROOT

    if kind == "blank":
        img = Image.new("RGB", (800, 600), (40, 40, 40))
    else:
        src = ROOT.parent / "shared" / "photos" / "dev" / "dev_000_easy_v10.jpg"
        if not src.exists():
            pytest.skip(f"{src} is not there")
        img = Image.open(src).convert("RGB")
        img = img.resize((img.width // 4, img.height // 4)).filter(ImageFilter.GaussianBlur(6))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=80)
    return out.getvalue()


@pytest.mark.parametrize("kind", ["blank", "blurred"])
def test_unreadable_photo_gets_a_reason_and_advice_on_the_page(client, kind) -> None:  # type: ignore[no-untyped-def]
    from kpanic.qr.image.advice import ADVICE

    client.get("/submit")
    csrf = client.cookies.get("kpanic_csrf")
    r = client.post(
        "/submit",
        data={"kind": "photo", "csrf_token": csrf},
        files={"photo": ("panic.jpg", _photo(kind), "image/jpeg")},
        headers={"accept": "text/html"},
    )
    assert r.status_code == 422, r.text[:300]
    text = unescape(r.text)
    reason = re.search(r"could not be read \(([a-z-]+)\)", text)
    assert reason and reason.group(1) in ("no-code-found", "too-damaged", "checksum-failed")
    why, tips = ADVICE[reason.group(1)]
    assert why in text and all(tip in text for tip in tips)
    assert "closer" in text and "flash" in text and "reflections" in text
    # The API answers the same advice (the scanner page and scripts show it too).
    api = client.post(
        "/api/v1/reports/photo?wait=10", files={"photo": ("p.jpg", _photo(kind), "image/jpeg")}
    )
    assert api.status_code == 422 and "Hold the phone closer" in api.json()["detail"]


def test_a_text_file_as_photo_is_told_what_to_send(client) -> None:  # type: ignore[no-untyped-def]
    api = client.post(
        "/api/v1/reports/photo?wait=10",
        files={"photo": ("dmesg.jpg", b"[ 1.0] BUG: x\n", "image/jpeg")},
    )
    assert api.status_code in (415, 422)
    assert "camera" in api.json()["detail"] or "not a" in api.json()["detail"]
