"""/metrics, /healthz, /readyz, and a request id that follows a submission into its job."""

from __future__ import annotations

import logging
import time

import pytest

from tests.web.conftest import demo_log, make_client


def test_metrics_count_submissions_and_show_the_queue(client) -> None:  # type: ignore[no-untyped-def]
    r = client.post("/api/v1/reports?wait=10", json={"log": demo_log(428)})
    assert r.status_code == 201
    body = client.get("/metrics").text
    assert 'kpanic_submissions_total{outcome="done:201",route="/api/v1/reports"}' in body
    assert 'kpanic_queue_depth{queue="text"} 0.0' in body
    assert 'kpanic_queue_depth{queue="photo"} 0.0' in body
    assert "kpanic_stage_seconds_bucket" in body  # the embedded worker's analysis timings


def test_readyz_checks_database_migrations_and_queue_lag(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with make_client(db_url, embedded_workers=False) as c:
        assert c.get("/healthz").json() == {"ok": True}
        ready = c.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"]["migrations"]["ok"] is True
        # Nobody analyses (no workers): once the queue is older than the bound, not ready.
        assert c.post("/api/v1/reports", json={"log": demo_log(310)}).status_code == 202
        monkeypatch.setenv("KPANIC_READY_MAX_QUEUE_AGE_S", "0.2")
        time.sleep(0.3)
        lagging = c.get("/readyz")
        assert lagging.status_code == 503 and lagging.json()["checks"]["queue"]["ok"] is False


def test_the_request_id_follows_a_submission_into_its_job(
    client, caplog: pytest.LogCaptureFixture
) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.DEBUG, logger="kpanic.worker")
    r = client.post(
        "/api/v1/reports?wait=10", json={"log": demo_log(740)}, headers={"X-Request-ID": "rq-42"}
    )
    assert r.status_code == 201 and r.headers["x-request-id"] == "rq-42"
    stored = [rec for rec in caplog.records if "stored as report" in rec.getMessage()]
    assert [getattr(rec, "request_id", None) for rec in stored] == ["rq-42"]
    # A client's id that is not a short token is replaced by a fresh one.
    other = client.get("/healthz", headers={"X-Request-ID": "x" * 200})
    assert len(other.headers["x-request-id"]) == 16
