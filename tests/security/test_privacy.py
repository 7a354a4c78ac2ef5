"""Defect 2: the public API must not say who submitted a report, and what is kept about a
submitter is keyed with the installation's secret and kept only while the rate limit needs it."""

from __future__ import annotations

import hashlib
import hmac

from sqlalchemy import select

from tests.security.conftest import demo_log, make_client

UA = "Mozilla/5.0 (X11; Linux x86_64) attacker-visible-agent/1.0"


def _submit(c, number: int = 143) -> dict:  # type: ignore[no-untyped-def]
    r = c.post(
        "/api/v1/reports?wait=10", json={"log": demo_log(number)}, headers={"user-agent": UA}
    )
    assert r.status_code in (200, 201), r.text
    return r.json()


def test_public_report_and_group_do_not_expose_the_submitter(db_url: str) -> None:
    with make_client(db_url) as c:
        made = _submit(c)
        report = c.get(f"/api/v1/reports/{made['id']}")
        group = c.get(f"/api/v1/groups/{made['group_id']}")
        assert report.status_code == 200 and group.status_code == 200
        for body in (report.text, group.text):
            assert UA not in body
            assert "testclient" not in body  # the TestClient's peer address
        assert report.json()["client"] is None
        assert group.json()["representative"]["client"] is None
        token = c.app.state.repo.create_token("privacy-admin").token
        admin = c.get(f"/api/v1/reports/{made['id']}", headers={"authorization": f"Bearer {token}"})
        assert admin.status_code == 200 and admin.json()["client"]["via"] == "api"


def test_reports_store_no_address_and_no_user_agent(db_url: str) -> None:
    """A report keeps the sender's keyed rate-limit key (flood control's per-sender quota needs
    it), never the address or the user agent; the key goes after its retention."""
    import datetime as dt

    from kpanic.store.retention import key_days, purge_submitter_keys
    from kpanic.web.ratelimit import client_key

    with make_client(db_url) as c:
        made = _submit(c, 428)
        repo = c.app.state.repo
        detail = repo.get_report(made["id"])
        assert detail is not None and detail.client is not None
        secret = c.app.state.limiter.secret
        assert detail.client.get("ip") == client_key("testclient", secret)  # keyed, not raw
        assert "testclient" not in str(detail.to_dict())
        assert detail.client.get("user_agent") is None and UA not in str(detail.to_dict())
        n, _ = purge_submitter_keys(repo.engine)  # within the retention: kept
        assert n == 0 and repo.get_report(made["id"]).client.get("ip")
        later = dt.datetime.now(dt.UTC) + dt.timedelta(days=key_days() + 1)
        n, cutoff = purge_submitter_keys(repo.engine, now=later)
        assert n == 1
        kept = repo.get_report(made["id"]).client
        assert "ip" not in kept and kept["via"] == "api"  # the route stays
        again, _ = purge_submitter_keys(repo.engine, now=later, since=cutoff)
        assert again == 0


def test_rate_limit_keys_are_an_hmac_with_the_installation_secret(db_url: str) -> None:
    from kpanic.store.models import RateLimitCounter

    with make_client(db_url, rate_limit=100, secret_key="s3cret-for-this-test-only") as c:
        _submit(c, 740)
        with c.app.state.repo.engine.connect() as conn:
            keys = list(conn.execute(select(RateLimitCounter.client)).scalars())
    address = "testclient"
    plain = hashlib.sha256(address.encode()).hexdigest()[:40]
    keyed = hmac.new(b"s3cret-for-this-test-only", address.encode(), hashlib.sha256)
    assert keys == [keyed.hexdigest()[:40]]
    assert plain not in keys  # the unsalted hash a /16 is reversed from in 0.07 s


def test_rate_limit_rows_are_deleted_once_expired(db_url: str) -> None:
    from kpanic.store.models import RateLimitCounter

    with make_client(db_url, rate_limit=100, rate_window_s=60) as c:
        limiter = c.app.state.limiter
        limiter.hit("192.0.2.1", now=1_000_000.0)
        limiter.hit("192.0.2.2", now=1_000_000.0 + 180)  # two windows later: the first expired
        with c.app.state.repo.engine.connect() as conn:
            rows = list(conn.execute(select(RateLimitCounter.window_start)).scalars())
    assert rows == [1_000_180 // 60 * 60]


def test_installation_secret_is_created_once_and_private(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from kpanic.web.security import installation_secret

    first = installation_secret("", tmp_path)
    assert len(first) >= 32 and installation_secret("", tmp_path) == first
    assert (tmp_path / "secret.key").stat().st_mode & 0o077 == 0
    assert installation_secret("configured", tmp_path) == b"configured"
