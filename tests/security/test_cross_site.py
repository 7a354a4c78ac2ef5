"""Defect 14 and the extras: cross-site posts to the browser intake, the trailing-slash redirect
built from the Host header, 413 answers without the security headers, and the rate limit
checked only after the whole upload was read."""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

import pytest

from tests.security.conftest import demo_log, make_client

EVIL = {"origin": "https://evil.example", "sec-fetch-site": "cross-site"}


def _count(c) -> int:  # type: ignore[no-untyped-def]
    return int(c.get("/api/v1/reports").json()["total"])


@pytest.mark.parametrize(
    "headers",
    [EVIL, {"origin": "https://evil.example"}, {"sec-fetch-site": "same-site"}, {"origin": "null"}],
)
def test_cross_site_multipart_intake_is_refused(db_url: str, headers: dict[str, str]) -> None:
    with make_client(db_url) as c:
        log = demo_log(143).encode()
        r = c.post(
            "/api/v1/reports/log", files={"file": ("dmesg.txt", log, "text/plain")}, headers=headers
        )
        assert r.status_code == 403, r.text
        r = c.post(
            "/api/v1/reports/photo",
            files={"photo": ("a.png", b"x" * 100, "image/png")},
            headers=headers,
        )
        assert r.status_code == 403, r.text
        # a body without Content-Type (fetch with a Blob) is parsed as JSON: refused too
        r = c.post("/api/v1/reports", content=b'{"log": "x"}', headers=headers)
        assert r.status_code == 403, r.text
        assert _count(c) == 0


def test_same_origin_and_cookieless_clients_still_submit(db_url: str) -> None:
    with make_client(db_url) as c:
        same = {"origin": "http://testserver", "sec-fetch-site": "same-origin"}
        files = {"file": ("dmesg.txt", demo_log(143).encode(), "text/plain")}
        assert c.post("/api/v1/reports/log?wait=10", files=files, headers=same).status_code == 201
        # curl and scripts send neither header
        assert c.post("/api/v1/reports?wait=10", json={"log": demo_log(428)}).status_code == 201
        assert _count(c) == 2


def test_allowed_origins_are_configurable(db_url: str) -> None:
    with make_client(db_url, allowed_origins=("https://crash.example.org",)) as c:
        r = c.post(
            "/api/v1/reports",
            json={"log": demo_log(143)},
            headers={"origin": "https://crash.example.org", "sec-fetch-site": "cross-site"},
        )
        assert r.status_code in (201, 202), r.text


def test_trailing_slash_redirect_never_uses_the_host_header(db_url: str) -> None:
    with make_client(db_url) as c:
        r = c.get("/groups/", headers={"host": "evil.example"}, follow_redirects=False)
        assert r.status_code in (301, 307, 308), r.status_code
        assert r.headers["location"] == "/groups"
        for path in ("//evil.example/", "/\\evil.example/"):
            r = c.get(path, follow_redirects=False)
            location = r.headers.get("location", "")
            assert not location.startswith("//") and "\\" not in location, location
            parts = urlsplit(location.replace("\\", "/"))  # browsers read "\\" as "/"
            assert not parts.scheme and not parts.netloc, location


def test_413_carries_the_security_headers(db_url: str) -> None:
    with make_client(db_url) as c:
        limit = c.app.state.settings.max_photo_bytes + 256 * 1024
        r = c.post(
            "/api/v1/reports/photo",
            content=b"x",
            headers={"content-length": str(limit + 1), "content-type": "multipart/form-data"},
        )
        assert r.status_code == 413
        for name in ("content-security-policy", "x-content-type-options", "x-frame-options"):
            assert name in r.headers, name


def test_rate_limit_answers_before_the_upload_is_sent(serve) -> None:  # type: ignore[no-untyped-def]
    server = serve(env={"KPANIC_RATE_LIMIT": "1"})
    host, port = server.url.removeprefix("http://").split(":")
    import httpx

    files = {"file": ("dmesg.txt", demo_log(143).encode(), "text/plain")}
    assert httpx.post(server.url + "/api/v1/reports/log", files=files).status_code in (201, 202)
    # Announce a 20 MB upload and send none of it: a limiter that runs first answers at once.
    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.sendall(
            b"POST /api/v1/reports/photo HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: multipart/form-data; boundary=b\r\n"
            b"Content-Length: 20000000\r\n\r\n--b\r\n"
        )
        started = time.monotonic()
        s.settimeout(5)
        try:
            head = s.recv(4096)
        except TimeoutError:
            head = b""
        assert head.startswith(b"HTTP/1.1 429"), head[:100]
        assert time.monotonic() - started < 3
