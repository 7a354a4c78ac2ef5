"""A maintainer's day in a real Chromium against a real server: open the dashboard, filter by
subsystem, mark a group fixed in a release, a crash arrives on a newer release through the
submit page, the group page shows the regression, and the dispatcher delivers its webhook
(to a local HTTP receiver) and its mail (to a local SMTP server)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from kpanic.triage.deliver import verify_signature
from tests.web.conftest import screenshot, start_server
from tests.web.triage_data import MAINTAINERS, Inbox, Receiver, kasan_on, rust_panic_on

pytestmark = pytest.mark.browser
SECRET = "browser-day-secret-0123"


def test_a_maintainers_day(page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from kpanic.store.repository import Repository

    db_url = f"sqlite:///{tmp_path / 'day.db'}"
    env = {"KPANIC_MAINTAINERS": str(MAINTAINERS), "KPANIC_BASE_URL": "https://crash.example"}
    server = start_server(db_url, tmp_path / "server.log", env=env)
    hook, inbox = Receiver(), Inbox()
    try:
        api = server.url + "/api/v1"
        rust = httpx.post(
            api + "/reports?wait=30", json={"log": rust_panic_on("6.15.1")}, timeout=60
        )
        kasan = httpx.post(api + "/reports?wait=30", json={"log": kasan_on("6.15.1")}, timeout=60)
        assert rust.status_code == kasan.status_code == 201
        gid = rust.json()["group_id"]
        with Repository(db_url) as repo:
            token = repo.create_token("maria").token
        auth = {"Authorization": f"Bearer {token}"}
        assert httpx.post(api + "/owners/refresh", headers=auth).status_code == 200
        for rule in (
            {
                "name": "rust regressions",
                "channel": "webhook",
                "target": hook.url,
                "secret": SECRET,
                "events": ["regression"],
                "subsystem": "RUST",
            },
            {
                "name": "team mail",
                "channel": "email",
                "target": "rust-team@example.org",
                "events": ["regression"],
            },
        ):
            assert httpx.post(api + "/rules", json=rule, headers=auth).status_code == 201

        # Log in, open the dashboard and keep the Rust subsystem's groups.
        page.goto(server.url + "/admin/login")
        page.fill("input[name=token]", token)
        page.click("form.card button[type=submit]")
        page.wait_for_url("**/groups")
        assert page.locator("#groups tbody tr").count() == 2
        page.select_option("#filter-subsystem", "RUST")
        with page.expect_navigation():
            page.click("form.filters button[type=submit]")
        assert "subsystem=RUST" in page.url
        rows = page.locator("#groups tbody tr")
        assert rows.count() == 1 and "RUST" in rows.first.inner_text()
        screenshot(page, "triage-01-filtered-by-subsystem")

        # Mark it fixed in 6.15.3.
        rows.first.locator("td.title a").click()
        page.wait_for_selector("#triage")
        assert "RUST" in page.inner_text("#triage-subsystems")
        assert "rust-for-linux@vger.kernel.org" in page.inner_text("#triage-subsystems")
        form = page.locator("#triage-status-form")
        form.locator("select[name=status]").select_option("fixed")
        form.locator("input[name=release]").fill("6.15.3")
        form.locator("input[name=why]").fill("fix queued for 6.15.3")
        with page.expect_navigation():
            form.locator("button[type=submit]").click()
        assert page.inner_text("#triage-status").strip() == "fixed"
        assert "6.15.3" in page.inner_text("#triage-fix")
        assert "maria" in page.inner_text("#triage-history")
        assert page.locator("#triage-regressed").count() == 0
        screenshot(page, "triage-02-fixed")

        # A crash on a newer kernel arrives through the submit page.
        page.goto(server.url + "/submit")
        page.locator("textarea[name=log]").fill(rust_panic_on("6.16.0"))
        with page.expect_navigation():
            page.click("button:has-text('Submit log')")
        assert "?submitted=new" in page.url

        page.goto(f"{server.url}/groups/{gid}")
        assert page.inner_text("#triage-status").strip() == "open"
        assert page.locator("#triage-regressed").is_visible()
        history = page.inner_text("#triage-history")
        assert "regressed" in history and "crashed again on 6.16.0" in history
        screenshot(page, "triage-03-regressed")

        # The dispatcher delivers the regression: one signed webhook, one mail.
        dispatcher_env = {
            **os.environ,
            "KPANIC_SMTP_HOST": "127.0.0.1",
            "KPANIC_SMTP_PORT": str(inbox.port),
            "KPANIC_SMTP_FROM": "kpanic@crash.example",
            "KPANIC_MAINTAINERS": str(MAINTAINERS),
            "KPANIC_BASE_URL": "https://crash.example",
        }
        kpanic = Path(sys.executable).with_name("kpanic")
        run = subprocess.run(
            [str(kpanic), "notify", "run", "--once", "--db", db_url],
            capture_output=True,
            text=True,
            env=dispatcher_env,
            timeout=120,
        )
        assert run.returncode == 0, run.stderr
        assert "sent 2" in run.stdout, run.stdout
        ((headers, body),) = hook.got
        assert headers["X-Kpanic-Event"] == "regression"
        assert verify_signature(
            SECRET, headers["X-Kpanic-Timestamp"], body, headers["X-Kpanic-Signature-256"]
        )
        event = json.loads(body)["events"][0]
        assert event["group"]["id"] == gid and event["group"]["kernel"] == "6.16.0"
        assert "fixed in 6.15.3" in event["detail"]
        (mail,) = inbox.mails
        assert b"To: rust-team@example.org" in mail and b"Regression" in mail
        assert f"https://crash.example/groups/{gid}".encode() in mail

        # The delivery log shows both answers.
        rules = httpx.get(api + "/rules", headers=auth).json()
        for r in rules:
            log = httpx.get(f"{api}/rules/{r['id']}/deliveries", headers=auth).json()
            assert log[0]["state"] == "sent", (r, log)
    finally:
        hook.close()
        inbox.close()
        server.stop()
