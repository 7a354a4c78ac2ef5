"""Extra: logging out revokes the session (a copied cookie stops working), revoking the token
one logged in with ends its sessions, and sessions expire."""

from __future__ import annotations

import time

from tests.security.conftest import make_client


def _login(c, token: str) -> str:  # type: ignore[no-untyped-def]
    c.get("/admin/login")
    csrf = c.cookies["kpanic_csrf"]
    r = c.post("/admin/login", data={"token": token, "csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return str(c.cookies["kpanic_admin"])


def _admin_page(c, cookie: str) -> int:  # type: ignore[no-untyped-def]
    c.cookies.set("kpanic_admin", cookie)
    return int(c.get("/admin").status_code)


def test_logout_revokes_the_session_cookie(db_url: str) -> None:
    with make_client(db_url) as c:
        token = c.app.state.repo.create_token("alice").token
        cookie = _login(c, token)
        assert cookie != token  # the cookie never holds the API token itself
        assert _admin_page(c, cookie) == 200
        r = c.post(
            "/admin/logout", data={"csrf_token": c.cookies["kpanic_csrf"]}, follow_redirects=False
        )
        assert r.status_code == 303
        assert _admin_page(c, cookie) == 401  # a stolen copy of the cookie is dead too
        assert c.app.state.repo.verify_token(token) is not None  # the API token still works


def test_revoking_the_parent_token_ends_its_sessions(db_url: str) -> None:
    with make_client(db_url) as c:
        new = c.app.state.repo.create_token("bob")
        cookie = _login(c, new.token)
        assert _admin_page(c, cookie) == 200
        c.app.state.repo.revoke_token(new.info.id)
        assert _admin_page(c, cookie) == 401


def test_sessions_expire(db_url: str) -> None:
    with make_client(db_url, session_max_age_s=1) as c:
        cookie = _login(c, c.app.state.repo.create_token("carol").token)
        assert _admin_page(c, cookie) == 200
        time.sleep(1.5)
        assert _admin_page(c, cookie) == 401
