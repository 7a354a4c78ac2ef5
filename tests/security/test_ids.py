"""Defect 13: ids outside the database's 64-bit integer range are a 422, never a 500 (admin
merge through the API and through the form; path ids everywhere)."""

from __future__ import annotations

import pytest

from tests.security.conftest import demo_log, make_client

HUGE = [2**63, 2**64 + 5, 10**30, 0, -1]


def _admin(c) -> tuple[dict[str, str], int]:  # type: ignore[no-untyped-def]
    token = c.app.state.repo.create_token("ids-admin").token
    made = c.post("/api/v1/reports?wait=10", json={"log": demo_log(143)}).json()
    return {"authorization": f"Bearer {token}"}, int(made["group_id"])


@pytest.mark.parametrize("bad", HUGE)
def test_api_merge_with_an_id_out_of_range_is_422(db_url: str, bad: int) -> None:
    with make_client(db_url) as c:
        auth, gid = _admin(c)
        r = c.post(f"/api/v1/groups/{gid}/merge", json={"source_ids": [bad]}, headers=auth)
        assert r.status_code == 422, r.text


def test_form_merge_with_an_id_out_of_range_is_422(db_url: str) -> None:
    with make_client(db_url) as c:
        auth, gid = _admin(c)
        c.get("/groups")  # the CSRF cookie
        csrf = c.cookies["kpanic_csrf"]
        for bad in (2**63, 10**30):
            r = c.post(
                f"/groups/{gid}/merge",
                data={"sources": f"{bad}", "csrf_token": csrf},
                headers=auth,
            )
            assert r.status_code == 422, r.text
            assert "ids run from 1" in r.text


def test_largest_id_is_a_clean_404(db_url: str) -> None:
    with make_client(db_url) as c:
        auth, gid = _admin(c)
        top = 2**63 - 1
        assert c.get(f"/api/v1/reports/{top}").status_code == 404
        assert c.get(f"/api/v1/groups/{top}").status_code == 404
        assert c.get(f"/api/v1/reports/{top + 1}").status_code == 422
        r = c.post(f"/api/v1/groups/{gid}/merge", json={"source_ids": [top]}, headers=auth)
        assert r.status_code == 404, r.text
