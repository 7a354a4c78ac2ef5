"""Defect 10: a NUL byte in a filter is the client's mistake (422), not a database outage (503).
PostgreSQL refuses NUL in text parameters; SQLite must answer the same."""

from __future__ import annotations

import pytest

from tests.security.conftest import make_client

FIELDS = ["q", "kernel", "arch", "distro", "bug_class", "language", "rust_prevents", "since"]
ROUTES = ["/api/v1/reports", "/api/v1/groups", "/api/v1/stats", "/groups", "/reports", "/stats"]


@pytest.mark.parametrize("route", ROUTES)
def test_nul_in_any_filter_is_422(db_url: str, route: str) -> None:
    with make_client(db_url) as c:
        for field in FIELDS:
            r = c.get(f"{route}?{field}=a%00b")
            assert r.status_code == 422, (field, r.status_code, r.text[:200])
            assert "Retry-After" not in r.headers


def test_nul_in_a_path_is_422(db_url: str) -> None:
    with make_client(db_url) as c:
        assert c.get("/api/v1/facets/kernel%00").status_code == 422
