"""Defect 11: the web submit form takes logs up to the one documented log limit
(settings.max_log_bytes, 2 MiB), as the JSON API does; over it both answer 413 naming it."""

from __future__ import annotations

from tests.security.conftest import demo_log, make_client

FILLER = "[    0.000000] a boot log line with nothing in it, repeated to make the log long\n"


def _log(size: int) -> str:
    tail = demo_log(143)
    return FILLER * ((size - len(tail)) // len(FILLER)) + tail


def _csrf(c) -> str:  # type: ignore[no-untyped-def]
    c.get("/submit")
    return str(c.cookies["kpanic_csrf"])


def test_form_takes_a_log_between_1_and_2_mib(db_url: str) -> None:
    log = _log(1_600_000)
    with make_client(db_url) as c:
        r = c.post(
            "/submit",
            data={"kind": "log", "log": log, "csrf_token": _csrf(c)},
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text[-500:]
        assert "submitted=new" in r.headers["location"]
        # the API agrees: the same log is a duplicate now
        assert c.post("/api/v1/reports", json={"log": log}).status_code == 200


def test_form_and_api_refuse_the_same_size_with_the_same_limit(db_url: str) -> None:
    with make_client(db_url) as c:
        limit = c.app.state.settings.max_log_bytes
        log = _log(limit + 10_000)
        form = c.post(
            "/submit",
            data={"kind": "log", "log": log, "csrf_token": _csrf(c)},
            follow_redirects=False,
        )
        api = c.post("/api/v1/reports", json={"log": log})
        assert form.status_code == 413 and api.status_code == 413, (form.status_code, api.text)
        assert str(limit) in form.text and str(limit) in api.json()["detail"]
        assert "2 MiB" in c.get("/submit").text
